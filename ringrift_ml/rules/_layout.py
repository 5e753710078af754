"""Integer layout shared by the compiled kernels and the Python wrappers.

A game state is one ``int64`` array ``S`` of shape ``(8, W)`` with ``W = max(N, 64)``:
rows 0-5 and 7 hold one value per cell, row 6 holds the scalar fields.  One array makes a
state cheap to copy, to hash and to hand to compiled code.

A move is one ``int64`` row of ``MOVE_WIDTH`` fields; move lists are ``(K, 8)`` arrays.
"""

import numpy as np

# ---- state rows ---------------------------------------------------------------------
H = 0  # stack height (0 = no stack)
RG = 1  # ring colours, 2 bits per ring (colour - 1), bottom ring in the low bits
CT = 2  # controlling player of the stack (0 = none)
CP = 3  # cap height
MK = 4  # marker owner (0 = none)
CL = 5  # collapsed-space owner (0 = not collapsed)
MT = 6  # scalar fields below
AGE = 7  # order in which the stack on a cell appeared (smaller = older; 0 = no stack)
NROWS = 8
META_WIDTH = 64


def empty_state_array(n_cells: int) -> np.ndarray:
    """A zeroed state array for a board of ``n_cells`` cells: shape ``(NROWS, max(n_cells, META_WIDTH))``."""
    return np.zeros((NROWS, max(n_cells, META_WIDTH)), dtype=np.int64)


MAX_STACK = 31  # 2 bits per ring in an int64; reachable stacks stay <= 25 (see docs)

# ---- scalar fields (row MT) ---------------------------------------------------------
M_NP = 0  # number of players
M_CUR = 1  # player to act (1-based)
M_PHASE = 2
M_STATUS = 3  # 0 active, 1 completed
M_WINNER = 4  # 0 = none
M_REASON = 5  # victory reason code
M_PLY = 6  # moves applied since the serialized start (turnNumber - 1)
M_FROM = 7  # stack that must act: placed stack, capture origin (-1 = none)
M_PENDING = 8  # pending elimination decision (PEND_*)
M_ACTED = 9  # current player took a turn action this turn (forced-elimination test)
M_SWAP_ON = 10  # pie rule enabled
M_SWAP_AVAIL = 11  # swap_sides may still be played
M_SWAPPED = 12  # seats were swapped (identity bookkeeping only)
M_LPS_REQ = 13  # rounds required for round-based last player standing
M_VTHRESH = 14  # ring-elimination victory threshold
M_TMIN = 15  # territory victory minimum
M_LINELEN = 16
M_RPP = 17  # rings per player
M_HASH = 18  # incremental board hash (stacks, markers, collapsed)
M_LAST_ACTOR = 19  # last player to complete a turn action (stalemate tie-break)
M_HAND = 20  # 20..23 rings in hand per player
M_ELIM = 24  # 24..27 rings eliminated, credited to the causing player
M_TERR = 28  # 28..31 collapsed cells owned
M_ONB = 32  # 32..35 rings of each colour on the board
M_ELIMTURN = 36  # 36..39 ply of permanent elimination (-1 = never)
M_RANK = 40  # 40..43 final ranks (0 until the game ends)
M_TOTAL_ELIM = 44
M_RECOVERY = 45  # this turn's action was a recovery slide (territory cost = extraction)
# rules variants (see options.py; 0 = the canonical rule)
M_TERR_REPR = 46  # 1: a region is represented by every ring colour in it, against the controllers
M_LPS_NO_RECOVERY = 47  # 1: an available recovery slide is not a real action for last player standing
M_LINE_AUTO = 48  # 1: a line's elimination with nothing left to decide ends the turn
M_CAPTURE_UNSCORED = 49  # 1: own markers collapsed by a capture segment are not counted as territory
M_TURN_REAL = 50  # current player had a real action available at turn start
M_LPS_LAST = 51  # seat of the last turn start counted for last player standing (0 = none yet)
M_TERR_LEGACY = 52  # legacy territoryVictoryThreshold carried by serialized states
M_LPS_EXCL = 53  # exclusive player of the last completed round (0 = none)
M_LPS_DUE = 54  # player whose last-player-standing win fell due at this turn start (0 = none)
# last-player-standing rounds (see _k_victory.lps_turn_start)
M_LPS_ANCHOR = 58  # seat whose turn start opens each round (0 = not tracking yet)
M_LPS_MASK = 59  # players with a real action at their turn start in the current round (bit p-1)
M_LPS_STREAK = 60  # consecutive completed rounds in which M_LPS_LEADER alone had a real action
M_LPS_LEADER = 61  # that player (0 = none)
M_FREE_MOVE = 62  # rules variant: after a placement any controlled stack may move
M_AGE_SEQ = 63  # last stack-age stamp handed out (row AGE)

# ---- phases -------------------------------------------------------------------------
PH_RING_PLACEMENT = 0
PH_MOVEMENT = 1
PH_CAPTURE = 2
PH_CHAIN_CAPTURE = 3
PH_LINE = 4
PH_TERRITORY = 5
PH_FORCED_ELIM = 6
PH_GAME_OVER = 7
PHASE_NAMES = (
    "ring_placement",
    "movement",
    "capture",
    "chain_capture",
    "line_processing",
    "territory_processing",
    "forced_elimination",
    "game_over",
)

# ---- pending decisions --------------------------------------------------------------
PEND_NONE = 0
PEND_LINE_ELIM = 1  # pay for a collapsed line: one ring from a controlled stack
PEND_TERR_ELIM = 2  # pay for a claimed region: a whole cap outside it

# ---- victory reasons ----------------------------------------------------------------
VR_NONE = 0
VR_ELIMINATION = 1
VR_TERRITORY = 2
VR_LPS = 3
VR_EARLY_LPS = 4
VR_STALEMATE = 5
REASON_NAMES = (
    None,
    "ring_elimination",
    "territory_control",
    "last_player_standing",
    "early_last_player_standing",
    "structural_stalemate",
)

# ---- move types ---------------------------------------------------------------------
MV_PLACE_RING = 0
MV_SKIP_PLACEMENT = 1
MV_NO_PLACEMENT = 2
MV_SWAP_SIDES = 3
MV_MOVE_STACK = 4
MV_OVERTAKING_CAPTURE = 5
MV_CONTINUE_CAPTURE = 6
MV_SKIP_CAPTURE = 7
MV_NO_MOVEMENT = 8
MV_RECOVERY_SLIDE = 9
MV_SKIP_RECOVERY = 10
MV_PROCESS_LINE = 11
MV_CHOOSE_LINE_OPTION = 12
MV_NO_LINE = 13
MV_ELIMINATE = 14
MV_CHOOSE_TERRITORY = 15
MV_SKIP_TERRITORY = 16
MV_NO_TERRITORY = 17
MV_FORCED_ELIMINATION = 18
MOVE_TYPE_NAMES = (
    "place_ring",
    "skip_placement",
    "no_placement_action",
    "swap_sides",
    "move_stack",
    "overtaking_capture",
    "continue_capture_segment",
    "skip_capture",
    "no_movement_action",
    "recovery_slide",
    "skip_recovery",
    "process_line",
    "choose_line_option",
    "no_line_action",
    "eliminate_rings_from_stack",
    "choose_territory_option",
    "skip_territory_processing",
    "no_territory_action",
    "forced_elimination",
)
# Moves that are bookkeeping: the only option when they are legal.
BOOKKEEPING_TYPES = frozenset({MV_NO_PLACEMENT, MV_NO_MOVEMENT, MV_NO_LINE, MV_NO_TERRITORY})

# ---- move fields --------------------------------------------------------------------
F_TYPE = 0
F_PLAYER = 1
F_FROM = 2  # origin cell (movement, capture, recovery) or -1
F_TO = 3  # destination / target cell or -1
F_A = 4  # capture target | line dir | territory border colour | elim context | recovery mode
F_B = 5  # placement count | line length | region size | recovery extraction cell
F_C = 6  # line option (-1 all, k = segment offset) | recovery line option
F_D = 7  # recovery: line start cell * 8 + dir (segment option) | region hash
MOVE_WIDTH = 8

# eliminate_rings_from_stack contexts (F_A)
EC_LINE = 1
EC_TERRITORY = 2
EC_RECOVERY = 3  # territory cost paid by a recovery turn: one buried ring extraction
# recovery modes (F_A)
RM_LINE = 1
RM_FALLBACK = 2
RM_STACK_STRIKE = 3

MAX_MOVES = 4096  # initial move-buffer rows; generators report the true count so callers can grow it
