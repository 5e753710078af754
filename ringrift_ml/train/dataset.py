"""Training data in memory: one board's samples as compact arrays, batches as tensors.

Samples come from the lake (:func:`from_lake`: the newest sample sets of a partition,
weighted by recency, computed with polars) or from an NPZ export (:func:`from_npz`).
Positions stay ``uint8`` planes in cell order until a batch is built; a batch is
scattered onto the grid, optionally under a random symmetry of the board (planes and
ownership permuted, legal-move indices taken from the sample's precomputed
``sym_legal``), and padded to the batch's longest legal-move list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import torch

from ..nn.features import FEATURES, check_identity, to_grid
from ..nn.grid import grid_for
from ..nn.net import SLOTS
from ..nn.policy import layout_for


@dataclasses.dataclass
class SampleData:
    board: str
    planes: np.ndarray  # uint8 [S, C, N]
    globals: np.ndarray  # float32 [S, G]
    legal: np.ndarray  # int32 or int64 [M] flat
    offsets: np.ndarray  # int64 [S + 1]
    policy: np.ndarray  # float32 [M]
    played: np.ndarray  # int64 [S]
    value: np.ndarray  # float32 [S, 4]
    score: np.ndarray  # float32 [S, 4]
    ownership: np.ndarray  # uint8 [S, N]
    game: np.ndarray  # int64 [S]: game number (positions of one game share it)
    players: np.ndarray  # int64 [S]
    searched: np.ndarray  # bool [S]
    weight: np.ndarray  # float64 [S]: sampling weight (recency)
    sym_legal: Optional[np.ndarray] = None  # int32 or int64 [n_sym, M]: legal indices under each symmetry
    sym_perms: Optional[np.ndarray] = None  # int64 [n_sym, N]: cell c -> perm[c]
    source: dict = dataclasses.field(default_factory=dict)  # what the data is (sample sets, snapshot ...)
    game_ids: Optional[list] = None  # game number -> its game id (data built from samples; None from an NPZ)
    search_value: Optional[np.ndarray] = None  # float32 [S, 4]: the search's root value per slot, NaN where none

    def __len__(self) -> int:
        return int(self.played.shape[0])

    @property
    def n_symmetries(self) -> int:
        return 1 if self.sym_legal is None else int(self.sym_legal.shape[0])

    def split(self, holdout: float, seed: int) -> tuple:
        """``(train, held-out)`` sample indices, whole games on one side (by a hash of
        the game number and the seed, so adding games keeps old games' sides)."""
        keys = np.array([int(hashlib.sha256(f"{seed}:{g}".encode()).hexdigest()[:8], 16) for g in self.game])
        held = (keys / 0xFFFFFFFF) < holdout
        idx = np.arange(len(self))
        if held.all() or not held.any():  # too few games: hold out every k-th game instead
            uniq = np.unique(self.game)
            k = max(2, int(round(1 / holdout)))
            held = np.isin(self.game, uniq[::k])
        return idx[~held], idx[held]

    def batch(self, idx: np.ndarray, syms: Optional[np.ndarray] = None, device: str = "cpu") -> dict:
        """Tensors of the samples ``idx`` (under symmetry ``syms[i]`` when given)."""
        grid = grid_for(self.board)
        idx = np.asarray(idx)
        planes = self.planes[idx]
        own = self.ownership[idx].astype(np.int64)
        lens = self.offsets[idx + 1] - self.offsets[idx]
        L = int(lens.max())
        b = len(idx)
        legal = np.zeros((b, L), dtype=np.int64)
        target = np.zeros((b, L), dtype=np.float32)
        mask = np.zeros((b, L), dtype=bool)
        for j, i in enumerate(idx):
            s, e = self.offsets[i], self.offsets[i + 1]
            g = 0 if syms is None else int(syms[j])
            legal[j, : e - s] = self.legal[s:e] if g == 0 else self.sym_legal[g, s:e]
            target[j, : e - s] = self.policy[s:e]
            mask[j, : e - s] = True
        if syms is not None and self.sym_perms is not None:
            for j in range(b):
                g = int(syms[j])
                if g:
                    perm = self.sym_perms[g]
                    moved = np.empty_like(planes[j])
                    moved[:, perm] = planes[j]
                    planes[j] = moved
                    o = np.empty_like(own[j])
                    o[perm] = own[j]
                    own[j] = o
        grid_planes = to_grid(planes, grid)
        own_grid = np.full((b, grid.size), -100, dtype=np.int64)  # -100: ignored (off the board)
        own_grid[:, grid.flat] = own
        slot_mask = np.arange(SLOTS)[None, :] < self.players[idx][:, None]
        t = lambda a, dt=None: torch.as_tensor(a, dtype=dt).to(device)  # noqa: E731
        return {
            "planes": t(grid_planes), "globals": t(self.globals[idx]), "legal": t(legal), "mask": t(mask),
            "target": t(target), "played": t(self.played[idx]), "value": t(self.value[idx]),
            "value_mask": t(slot_mask), "score": t(self.score[idx]),
            "ownership": t(own_grid.reshape(b, grid.height, grid.width)), "searched": t(self.searched[idx]),
            **self._search_value(idx, t),
        }

    def _search_value(self, idx: np.ndarray, t) -> dict:
        """``search_value`` (NaN filled with the outcome) and ``has_search_value`` of a batch."""
        if self.search_value is None:
            return {}
        q = self.search_value[idx]
        has = ~np.isnan(q[:, 0])
        return {"search_value": t(np.where(has[:, None], q, self.value[idx])), "has_search_value": t(has)}


class _Builder:
    """Compact arrays accumulated from Arrow record batches (the batches are dropped
    as soon as they are converted, so a partition never sits in memory as Arrow)."""

    def __init__(self, board: str, n_sym: int):
        self.board = board
        self.n_cells = grid_for(board).n_cells
        self.size = layout_for(board).size
        self.n_sym = n_sym
        self.parts: dict = {k: [] for k in ("planes", "own", "legal", "lens", "policy", "glob", "played", "value",
                                             "score", "searched", "games", "sets", "sym", "q")}
        self.sym_ok = n_sym > 1

    def add(self, batch) -> None:
        s = batch.num_rows
        if s == 0:
            return
        C = FEATURES.n_planes
        P = self.parts
        P["planes"].append(np.frombuffer(b"".join(batch.column("planes").to_pylist()),
                                         dtype=np.uint8).reshape(s, C, self.n_cells))
        P["own"].append(np.frombuffer(b"".join(batch.column("ownership").to_pylist()),
                                      dtype=np.uint8).reshape(s, self.n_cells))
        legal_col = batch.column("legal")
        if isinstance(legal_col, pa.ChunkedArray):
            legal_col = legal_col.combine_chunks()
        lens = np.diff(np.asarray(legal_col.offsets))
        # int32: a big board's window holds hundreds of legal moves per position, 13
        # times over with the symmetries' images (hexagonal: 2.2 GB per 82k positions
        # as int64); batch() widens them for torch.
        legal = np.asarray(legal_col.flatten(), dtype=np.int32)
        if legal.size and (legal.min() < 0 or legal.max() >= self.size):
            raise ValueError(f"{self.board}: legal move indices outside the policy layout (0..{self.size - 1})")
        P["legal"].append(legal)
        P["lens"].append(lens)
        flat = lambda c: np.asarray(_flat(batch.column(c)), dtype=np.float32)  # noqa: E731
        P["policy"].append(flat("policy"))
        glob = flat("globals").reshape(s, -1)
        if glob.shape[1] != FEATURES.n_globals:
            raise ValueError(f"{self.board}: {glob.shape[1]} global features, the encoding has {FEATURES.n_globals}")
        P["glob"].append(glob)
        P["played"].append(np.asarray(batch.column("played"), dtype=np.int64))
        P["value"].append(flat("value").reshape(s, SLOTS))
        P["score"].append(flat("score").reshape(s, SLOTS))
        P["searched"].append(np.asarray(batch.column("has_search_policy"), dtype=bool))
        P["q"].append(_search_values(batch, s))
        P["games"].extend(batch.column("game_id").to_pylist())
        P["sets"].extend(batch.column("sample_set_id").to_pylist() if "sample_set_id" in batch.column_names
                         else [None] * s)
        if self.sym_ok and "sym_legal" in batch.column_names:
            flat_sym = np.asarray(_flat(batch.column("sym_legal")), dtype=np.int32)
            if flat_sym.size != self.n_sym * legal.size:
                self.sym_ok = False  # a set without symmetry tables: train without augmentation
            else:
                sym = np.empty((self.n_sym, legal.size), dtype=np.int32)
                pos = a = 0
                for k in lens:
                    sym[:, a:a + k] = flat_sym[pos: pos + self.n_sym * k].reshape(self.n_sym, k)
                    pos += self.n_sym * k
                    a += k
                P["sym"].append(sym)
        else:
            self.sym_ok = False

    def finish(self, set_weight: Optional[dict], source: dict, sym_perms) -> SampleData:
        P = self.parts
        if not P["played"]:
            raise ValueError(f"{self.board}: no samples")

        def cat(key: str, axis: int = 0) -> np.ndarray:
            # one array at a time, its parts dropped at once: the peak is the data plus
            # its largest array, not twice the data
            out = np.concatenate(P[key], axis=axis)
            P[key] = []
            return out

        lens = cat("lens")
        games = P["games"]
        codes = {g: i for i, g in enumerate(dict.fromkeys(games))}
        glob = cat("glob")
        players = glob[:, FEATURES.globals.index("players_2"):FEATURES.globals.index("players_4") + 1].argmax(1) + 2
        weight = (np.ones(len(games)) if set_weight is None
                  else np.array([set_weight[x] for x in P["sets"]], dtype=np.float64))
        sym = cat("sym", axis=1) if self.sym_ok and P["sym"] else None
        return SampleData(
            board=self.board, planes=cat("planes"), globals=glob, legal=cat("legal"),
            offsets=np.concatenate([[0], np.cumsum(lens)]).astype(np.int64), policy=cat("policy"),
            played=cat("played"), value=cat("value"), score=cat("score"),
            ownership=cat("own"), game=np.array([codes[g] for g in games], dtype=np.int64),
            players=players.astype(np.int64), searched=cat("searched"), weight=weight,
            sym_legal=sym, sym_perms=sym_perms if sym is not None else None, source=source, game_ids=list(codes),
            search_value=cat("q"))


def _search_values(batch, s: int) -> np.ndarray:
    """float32 [s, SLOTS]: each row's ``search_value`` (NaN rows where it is empty,
    null, or the column predates it)."""
    out = np.full((s, SLOTS), np.nan, dtype=np.float32)
    if "search_value" not in batch.column_names:
        return out
    col = batch.column("search_value")
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    lens = np.diff(np.asarray(col.offsets))
    valid = np.asarray(col.is_valid()) & (lens == SLOTS)
    if valid.any():
        offsets = np.asarray(col.offsets)
        flat = np.asarray(col.flatten(), dtype=np.float32)  # starts at offsets[0] (a sliced array)
        starts = offsets[:-1][valid] - offsets[0]
        out[valid] = flat[starts[:, None] + np.arange(SLOTS)[None, :]]
    return out


def _flat(col):
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    return col.flatten()


def from_table(table: pa.Table, board: str, set_weight: Optional[dict] = None, source: Optional[dict] = None,
               sym_perms: Optional[np.ndarray] = None) -> SampleData:
    """Samples from an Arrow table in ``nn.samples.SAMPLE_SCHEMA`` (``sym_legal`` is
    used for augmentation when ``sym_perms`` is given and every row has a full table)."""
    b = _Builder(board, 1 if sym_perms is None else int(sym_perms.shape[0]))
    for batch in table.to_batches(max_chunksize=4096):
        b.add(batch)
    return b.finish(set_weight, source or {}, sym_perms)


def from_lake(store, board: str, players: int, window: int = 0, recency: float = 1.0,
              sample_set_id: Optional[str] = None, upto: Optional[str] = None, batch_rows: int = 4096,
              window_positions: int = 0) -> SampleData:
    """A replay window of a partition's samples, streamed from the lake.

    The partition's sample sets (those created up to sample set ``upto`` when given),
    newest first; the newest ``window`` of them (0: all), and of those, with
    ``window_positions``, the newest that hold at least that many positions together
    (the set that reaches it included; its count is the sets', before games two sets
    share are taken once); each older set weighs
    ``recency`` times the next newer one.  A game in several sets is taken once, from
    the newest.  With ``sample_set_id``: that set alone.  Rows arrive in record batches
    of ``batch_rows`` and are converted to compact arrays one batch at a time."""
    import polars as pl

    from ..nn.augment import symmetry_perms

    sets = pl.from_arrow(store.query(
        "SELECT sample_set_id, created_at, samples, games_snapshot, config FROM lake.sample_sets "
        "WHERE board = ? AND players = ? ORDER BY created_at DESC, sample_set_id", [board, players]))
    if sample_set_id is not None:
        sets = sets.filter(pl.col("sample_set_id") == sample_set_id)
    elif upto is not None:
        at = sets.filter(pl.col("sample_set_id") == upto)
        if at.height == 0:
            raise ValueError(f"partition {board}|{players}: no sample set {upto}")
        sets = sets.filter(pl.col("created_at") <= at.get_column("created_at")[0])
    if sets.height == 0:
        raise ValueError(f"partition {board}|{players}: no sample sets in the lake"
                         + (f" with id {sample_set_id}" if sample_set_id else ""))
    if window:
        sets = sets.head(window)
    if window_positions:
        before = sets.get_column("samples").cum_sum() - sets.get_column("samples")
        sets = sets.filter(before < window_positions)
    sets = sets.with_columns((pl.lit(recency) ** pl.int_range(0, pl.len())).alias("weight"),
                             pl.int_range(0, pl.len()).alias("age"))
    for cfg in sets.get_column("config").to_list():
        feats = json.loads(cfg or "{}").get("features")
        if feats:
            check_identity(feats, f"partition {board}|{players} sample set")
    ids = sets.get_column("sample_set_id").to_list()
    # each game from the newest set that holds it
    members = pl.from_arrow(store.query(
        "SELECT sample_set_id, game_id FROM lake.sample_set_games WHERE board = ? AND players = ? "
        "AND list_contains(?, sample_set_id)", [board, players, ids]))
    chosen = (members.join(sets.select("sample_set_id", "age"), on="sample_set_id")
              .sort("age").unique(subset="game_id", keep="first", maintain_order=True))
    keep = set(zip(chosen.get_column("sample_set_id").to_list(), chosen.get_column("game_id").to_list()))
    perms = symmetry_perms(board)
    builder = _Builder(board, int(perms.shape[0]))
    # In the order (sample set, game, ply), sorted a range of games at a time: DuckDB
    # cannot spill a sort of these list columns, and one sort of a big board's window
    # held some 3 GB (hexagonal, 82k positions) beside the arrays being built.
    with store.connect(read_only=True) as con:
        for sid in sorted(ids):
            counts = con.execute(
                "SELECT game_id, count(*) FROM lake.samples WHERE board = ? AND players = ? AND sample_set_id = ? "
                "GROUP BY game_id ORDER BY game_id", [board, players, sid]).fetchall()
            for lo, hi in _game_ranges(counts, {g for g, _ in counts if (sid, g) in keep}, RANGE_ROWS):
                reader = con.execute(
                    "SELECT * EXCLUDE (board, players) FROM lake.samples WHERE board = ? AND players = ? "
                    "AND sample_set_id = ? AND game_id BETWEEN ? AND ? ORDER BY game_id, ply",
                    [board, players, sid, lo, hi]).to_arrow_reader(batch_rows)
                for batch in reader:
                    mask = [(sid, g) in keep for g in batch.column("game_id").to_pylist()]
                    builder.add(batch.filter(pa.array(mask)))
    weights = dict(zip(ids, sets.get_column("weight").to_list()))
    return builder.finish(weights, {"sample_sets": ids, "snapshots": sets.get_column("games_snapshot").to_list(),
                                    "games": chosen.height}, perms)


RANGE_ROWS = 16384
"""Positions per sorted read of :func:`from_lake` (its memory, against one query per range)."""


def _game_ranges(games: list, want: set, rows: int) -> list:
    """``[(first, last)]`` game-id ranges over ``games`` (``(game_id, positions)``,
    sorted by id) that cover the ids in ``want``, each of at most ``rows`` positions of
    wanted games (a bigger game is a range of its own); unwanted games fall in a range
    only between wanted ones."""
    out, first, last, size = [], None, None, 0
    for g, n in games:
        if g not in want:
            continue
        if first is not None and size + n > rows:
            out.append((first, last))
            first, size = None, 0
        if first is None:
            first = g
        last, size = g, size + n
    if first is not None:
        out.append((first, last))
    return out


def save_npz(data: SampleData, path: Path, meta: dict) -> Path:
    """An NPZ of the samples for outside tools (ragged lists flat plus offsets)."""
    from ..atomic import atomic_path

    path = Path(path)
    schema = {"format": "ringrift-lab/samples-npz", "version": 2, "board": data.board, "features": FEATURES.identity,
              "planes": list(FEATURES.planes), "globals": list(FEATURES.globals), **meta}
    with atomic_path(path, suffix=".tmp.npz") as tmp:  # np.savez keeps a name that ends in .npz
        # legal indices as int64 whatever width holds them in memory: the format's type
        np.savez_compressed(tmp, planes=data.planes, globals=data.globals, legal=data.legal.astype(np.int64),
                            offsets=data.offsets,
                            policy=data.policy, played=data.played, value=data.value, score=data.score,
                            ownership=data.ownership, game=data.game, players=data.players, searched=data.searched,
                            **({"sym_legal": data.sym_legal.astype(np.int64)} if data.sym_legal is not None else {}),
                            schema=np.array(json.dumps(schema, sort_keys=True)))
    return path


def from_npz(path: Path) -> SampleData:
    from ..nn.augment import symmetry_perms

    with np.load(Path(path), allow_pickle=False) as z:
        try:
            schema = json.loads(str(z["schema"]))
        except KeyError:
            raise ValueError(f"{path}: not a samples NPZ (no schema)") from None
        if schema.get("format") != "ringrift-lab/samples-npz" or schema.get("version") != 2:
            raise ValueError(f"{path}: samples NPZ format {schema.get('format')!r} v{schema.get('version')} "
                             "is not ringrift-lab/samples-npz v2")
        check_identity(schema.get("features", "?"), str(path))
        board = schema["board"]
        sym = z["sym_legal"] if "sym_legal" in z.files else None
        return SampleData(board=board, planes=z["planes"], globals=z["globals"], legal=z["legal"].astype(np.int64),
                          offsets=z["offsets"].astype(np.int64), policy=z["policy"], played=z["played"].astype(np.int64),
                          value=z["value"], score=z["score"], ownership=z["ownership"], game=z["game"].astype(np.int64),
                          players=z["players"].astype(np.int64), searched=z["searched"],
                          weight=np.ones(len(z["played"])), sym_legal=sym,
                          sym_perms=symmetry_perms(board) if sym is not None else None,
                          source={"npz": str(path), **{k: schema[k] for k in schema if k.startswith("sample")}})


__all__ = ["SampleData", "from_lake", "from_npz", "from_table", "save_npz"]
