"""The lake's tables (DuckLake DDL) and their Arrow schemas.

Append-only facts (``games``, ``landing_events``, ``sample_sets``,
``sample_set_games``, ``samples``, ``models``, ``calibration``, ``elo``,
``heuristic_weights``) are never rewritten; ``games_merged`` is brought up to date per
partition by ``dbt_like_sql/games_merged.sql`` in one transaction (only the move
sequences that changed, ``games_merged_changes.sql``).  Every table carries
``board`` and ``players`` where it has a partition, and DuckLake partitions the large
ones by them.
"""

from __future__ import annotations

from typing import Optional

import pyarrow as pa

from ..nn.samples import SAMPLE_SCHEMA

from ..rules.view import PHASE_NAMES

SCHEMA_VERSION = 2

# ---- games and moves ------------------------------------------------------------------
GAMES_SCHEMA = pa.schema([
    ("entry_id", pa.string()),  # one row's identity: "<source key>:<game id>"
    ("game_id", pa.string()),
    ("board", pa.string()),
    ("players", pa.int32()),
    ("schema_version", pa.int32()),
    ("seed", pa.int64()),
    ("generator", pa.string()),
    ("generator_version", pa.string()),
    ("generator_config", pa.string()),  # JSON: what produced the game (players, budgets, weights version...)
    ("rules_options", pa.string()),  # JSON: the options the game replays under
    ("rules_version", pa.int32()),
    ("moves_json", pa.string()),  # the full move list, bookkeeping moves included
    ("phases", pa.string()),  # the phase each move was played in, one digit per move (PHASE_NAMES index)
    ("policy_json", pa.string()),  # per-move search policies (JSON list, nulls for unsearched moves)
    ("search_json", pa.string()),  # per-move search facts: {full, simulations, root values per seat} or null
    ("move_hash", pa.string()),  # sha256 of the move sequence
    ("winner", pa.int32()),
    ("ranks", pa.string()),  # JSON {seat: rank}
    ("victory_reason", pa.string()),
    ("length", pa.int32()),
    ("source", pa.string()),  # "selfplay" or "landed"
    ("source_file", pa.string()),  # content hash of the landed file (null for selfplay)
    ("source_name", pa.string()),  # landed file name, or the selfplay run
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

LANDING_EVENTS_SCHEMA = pa.schema([
    ("file_hash", pa.string()),  # sha256 of the file's bytes
    ("name", pa.string()),  # the name it arrived under
    ("size", pa.int64()),
    ("event", pa.string()),  # staged | duplicate | ingested | quarantined
    ("reason", pa.string()),
    ("records", pa.int64()),  # records read from the file
    ("in_lake", pa.int64()),  # of them, written to lake.games
    ("quarantined", pa.int64()),  # of them, quarantined with the file
    ("partitions", pa.string()),  # JSON ["board|players", ...]
    ("stored_path", pa.string()),  # where the file itself now lies (content-addressed)
    ("run_id", pa.string()),
    ("event_at", pa.timestamp("us", tz="UTC")),
])

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.float32()): "FLOAT[]",
    pa.list_(pa.int16()): "SMALLINT[]",
    pa.list_(pa.int32()): "INTEGER[]",
    pa.binary(): "BLOB",
}

# Tables whose rows are derived from others and rebuilt by the pipeline: when their
# layout changes they are recreated empty (their producers write them again).
DERIVED = ("samples",)


BIG_GAME_COLUMNS = ("moves_json", "policy_json")
"""The columns that hold most of a game's bytes: a network's selfplay game records a
target over hundreds of moves at every decision (hexagonal 2p: about 9 MB a game), so
a partition read whole overflows DuckDB's 2 GiB Arrow string buffers."""


def _columns(schema: pa.Schema) -> str:
    return ", ".join(f'"{f.name}" {_SQL_TYPES[f.type]}' for f in schema)


# ---- lineage: sample sets and what was trained on them ---------------------------------
SAMPLE_SETS_SCHEMA = pa.schema([
    ("sample_set_id", pa.string()),
    ("board", pa.string()),
    ("players", pa.int32()),
    ("games_snapshot", pa.int64()),  # the lake snapshot games_merged was read at
    ("games", pa.int32()),
    ("samples", pa.int32()),
    ("config", pa.string()),  # JSON
    ("code_version", pa.string()),
    ("npz_path", pa.string()),
    ("npz_sha256", pa.string()),
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

SAMPLE_SET_GAMES_SCHEMA = pa.schema([
    ("sample_set_id", pa.string()),
    ("board", pa.string()),
    ("players", pa.int32()),
    ("game_id", pa.string()),
    ("entry_id", pa.string()),
])

# The spatial network's samples (``nn.samples.SAMPLE_SCHEMA``) with their set and partition.
SAMPLES_SCHEMA = pa.schema([
    ("sample_set_id", pa.string()),
    ("board", pa.string()),
    ("players", pa.int32()),
    *SAMPLE_SCHEMA,
])

MODELS_SCHEMA = pa.schema([
    ("model_id", pa.string()),  # content hash of the checkpoint
    ("board", pa.string()),
    ("players", pa.int32()),
    ("path", pa.string()),
    ("sample_set_id", pa.string()),  # what it learned from (lake.sample_set_games lists the games)
    ("samples", pa.int32()),
    ("epochs", pa.int32()),
    ("train_loss", pa.float64()),
    ("val_loss", pa.float64()),
    ("val_top1", pa.float64()),
    ("val_value_mse", pa.float64()),
    ("initial_val_loss", pa.float64()),
    ("config", pa.string()),
    ("features", pa.string()),  # encoding identity the network reads
    ("best_epoch", pa.string()),  # the held-out evaluation it was saved at ("swa": the SWA average)
    ("val_policy_ce", pa.float64()),
    ("val_policy_ce_uniform", pa.float64()),
    ("val_policy_target_entropy", pa.float64()),  # the held-out targets' own entropy (CE's floor)
    ("val_policy_gap_closed", pa.float64()),  # (CE_uniform - CE) / (CE_uniform - H)
    ("val_value_mse_zero", pa.float64()),
    ("val_value_ece", pa.float64()),
    ("code_version", pa.string()),
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

CALIBRATION_SCHEMA = pa.schema([
    ("model_id", pa.string()),
    ("board", pa.string()),
    ("players", pa.int32()),
    ("n", pa.int32()),
    ("ece", pa.float64()),
    ("mce", pa.float64()),
    ("overconfidence", pa.float64()),
    ("temperature", pa.float64()),
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

ELO_SCHEMA = pa.schema([
    ("board", pa.string()),
    ("players", pa.int32()),
    ("player", pa.string()),
    ("elo", pa.float64()),
    ("se", pa.float64()),
    ("games", pa.int32()),
    ("model_id", pa.string()),
    ("weights_version", pa.string()),
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

HEURISTIC_WEIGHTS_SCHEMA = pa.schema([
    ("weights_version", pa.string()),  # content hash of the weights file
    ("board", pa.string()),
    ("players", pa.int32()),
    ("path", pa.string()),
    ("best_score", pa.float64()),
    ("generations", pa.int32()),
    ("config", pa.string()),
    ("accepted", pa.bool_()),  # passed the confirming test against the weights it would replace
    ("confirmation", pa.string()),  # JSON: that test's games, score, interval and decision
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

# The closed loop's model registry: one row per generation's decision (append-only; the
# newest row of a generation is its state, and a rollback adds a row).
MODEL_REGISTRY_SCHEMA = pa.schema([
    ("board", pa.string()),
    ("players", pa.int32()),
    ("generation", pa.int32()),
    ("model_id", pa.string()),  # content hash of the checkpoint
    ("parent_id", pa.string()),  # the best model it was warm-started from and gated against (null: bootstrap)
    ("path", pa.string()),  # relative to the storage root
    ("sample_set_id", pa.string()),  # the generation's new samples
    ("window", pa.string()),  # JSON: the sample sets it trained on (replay window)
    ("selfplay_games", pa.int32()),
    ("status", pa.string()),  # promoted | rejected | rolled_back
    ("reason", pa.string()),
    ("gate", pa.string()),  # JSON: games, score, interval, SPRT decision and bounds
    ("gate_opponent", pa.string()),  # the gate's figures as columns (null: no gate was played)
    ("gate_games", pa.int32()),
    ("gate_score", pa.float64()),  # the candidate's score (pairwise from the ranks with 3-4 players)
    ("gate_ci_low", pa.float64()),  # its 95% interval
    ("gate_ci_high", pa.float64()),
    ("gate_llr", pa.float64()),  # the SPRT's log-likelihood ratio when it stopped
    ("gate_decision", pa.string()),  # H1 | H0 | null (undecided at the horizon: gate_truncation decided)
    ("rating", pa.float64()),  # null: the row is written before any ladder game; see lake.ladder_ratings
    ("rating_se", pa.float64()),
    ("cpu_seconds", pa.float64()),  # CPU time of the generation (all processes of the loop)
    ("selfplay_cpu_seconds", pa.float64()),  # ... of which selfplay and samples (null where not measured)
    ("train_cpu_seconds", pa.float64()),  # ... training the candidate
    ("gate_cpu_seconds", pa.float64()),  # ... the held-out check and the gate
    ("ladder_cpu_seconds", pa.float64()),  # ladder games played since the previous generation's row
    ("data_cpu_seconds", pa.float64()),  # CPU that made training positions: selfplay, and the gate when its games train
    ("data_share", pa.float64()),  # data_cpu_seconds / (selfplay + train + gate + ladder CPU seconds)
    ("positions", pa.int64()),  # positions of the generation's sample set (its new training data)
    ("window_positions", pa.int64()),  # positions of the candidate's replay window (training and held out)
    ("trained_positions", pa.int64()),  # positions drawn by training (optimiser steps x batch); / window: reuse
    ("wall_seconds", pa.float64()),
    ("config", pa.string()),  # JSON: the loop config
    # The generation's selfplay targets (means over its full searches, nats; ringrift_ml.ai.signal):
    ("targets", pa.int32()),  # full-search decisions with the figures
    ("target_entropy", pa.float64()),  # H(target)
    ("target_kl_prior", pa.float64()),  # KL(target || the searching evaluator's prior): what search added
    ("target_kl_uniform", pa.float64()),  # KL(target || uniform over the legal moves)
    # The candidate's held-out figures (its best evaluation, on the held-out games of its window):
    ("heldout_policy_ce", pa.float64()),
    ("heldout_policy_ce_uniform", pa.float64()),
    ("heldout_target_entropy", pa.float64()),
    ("heldout_gap_closed", pa.float64()),  # (CE_uniform - CE) / (CE_uniform - H)
    ("heldout_value_mse", pa.float64()),
    ("heldout_value_mse_zero", pa.float64()),
    ("heldout_top1", pa.float64()),  # share of held-out positions whose most likely move is the search's favourite
    ("best_epoch", pa.int32()),  # the training epoch the candidate was saved from (0: further epochs only hurt)
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

# Every game of a partition's rating ladder (the loop's generations and baselines).
LADDER_GAMES_SCHEMA = pa.schema([
    ("board", pa.string()),
    ("players", pa.int32()),
    ("a", pa.string()),  # entrant names: g<N> or a baseline spec
    ("b", pa.string()),
    ("a_model", pa.string()),  # model ids of generation entrants (null for baselines)
    ("b_model", pa.string()),
    ("simulations", pa.int32()),
    ("seed", pa.int64()),
    ("a_seat", pa.int32()),
    ("score", pa.float64()),  # a's points: 1 win, 0.5 draw, 0 loss
    ("moves", pa.int32()),
    ("digest", pa.string()),  # hash of the move sequence
    ("cpu_seconds", pa.float64()),  # the game's share of its match's CPU (null: played before it was measured)
    ("training", pa.bool_()),  # kept in lake.games as training data (label loop:<partition>:ladder:<a>-<b>)
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

# Every fit of a partition's ladder: one row per entrant, the whole table each time a
# ladder update played games or rolled a generation back (newest fit: max created_at).
LADDER_RATINGS_SCHEMA = pa.schema([
    ("board", pa.string()),
    ("players", pa.int32()),
    ("name", pa.string()),  # g<N> or a baseline spec
    ("generation", pa.int32()),  # null for baselines
    ("status", pa.string()),  # the generation's registry status, or 'baseline'
    ("elo", pa.float64()),  # maximum likelihood, random = 0
    ("se", pa.float64()),  # standard error (a 95% interval is elo +- 1.96 se)
    ("games", pa.int32()),  # ladder games of this entrant
    ("cpu_hours", pa.float64()),  # the loop's CPU hours up to this generation
    ("fit_games", pa.int32()),  # all ladder games of the partition in this fit
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

# Final evaluations of a partition's best network (``ringrift campaign``): one row per
# match of a subject against an opponent, seats alternating or rotated.  A row is kept
# per (model, subject, opponent, games, seed): a rerun with the same best reads it back.
EVALUATIONS_SCHEMA = pa.schema([
    ("board", pa.string()),
    ("players", pa.int32()),
    ("generation", pa.int32()),  # the registry generation of the evaluated network
    ("model_id", pa.string()),
    ("subject", pa.string()),  # its player spec with the network named by generation: nn:g<N>:<simulations>
    ("opponent", pa.string()),
    ("games", pa.int32()),
    ("score", pa.float64()),  # the subject's score (mean pairwise from the ranks with 3-4 players)
    ("ci_low", pa.float64()),  # 95% interval
    ("ci_high", pa.float64()),
    # first place, a score of exactly half, last place; with 3-4 players the other finishes
    # (2nd and 3rd of four, shared places) are games - wins - draws - losses
    ("wins", pa.int32()),
    ("draws", pa.int32()),
    ("losses", pa.int32()),
    ("seed", pa.int64()),
    ("random_opening", pa.int32()),
    ("cpu_seconds", pa.float64()),
    ("run_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

# The lake's identity: one row, written in the transaction that creates the table (two
# hosts opening a fresh PostgreSQL catalog at once: the losing transaction retries, finds
# the table and writes nothing).  Catalogs, schemas and storage roots can be moved or
# copied; the id says whether two of them are one lake (or a copy of it).
LAKE_INFO_SCHEMA = pa.schema([
    ("lake_id", pa.string()),  # a random UUID, fixed at creation
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("created_by", pa.string()),  # the code version that created it
])

TABLES = {
    "lake_info": (LAKE_INFO_SCHEMA, ()),
    "games": (GAMES_SCHEMA, ("board", "players")),
    "games_merged": (GAMES_SCHEMA, ("board", "players")),
    "landing_events": (LANDING_EVENTS_SCHEMA, ()),
    "sample_sets": (SAMPLE_SETS_SCHEMA, ()),
    "sample_set_games": (SAMPLE_SET_GAMES_SCHEMA, ("board", "players")),
    "samples": (SAMPLES_SCHEMA, ("board", "players")),
    "models": (MODELS_SCHEMA, ()),
    "calibration": (CALIBRATION_SCHEMA, ()),
    "elo": (ELO_SCHEMA, ()),
    "heuristic_weights": (HEURISTIC_WEIGHTS_SCHEMA, ()),
    "model_registry": (MODEL_REGISTRY_SCHEMA, ()),
    "ladder_games": (LADDER_GAMES_SCHEMA, ()),
    "ladder_ratings": (LADDER_RATINGS_SCHEMA, ()),
    "evaluations": (EVALUATIONS_SCHEMA, ()),
}

def _moves_view(games: str) -> str:
    """One row per move of ``lake.<games>``, unfolded from its move list and phases."""
    names = ", ".join(f"'{p}'" for p in PHASE_NAMES)
    return (
        "SELECT entry_id, game_id, board, players, i - 1 AS ply, (m->>'player')::INTEGER AS player, "
        f"[{names}][substr(phases, i, 1)::INTEGER + 1] AS phase, m->>'type' AS move_type, m::VARCHAR AS move_json "
        "FROM (SELECT entry_id, game_id, board, players, phases, unnest(CAST(moves_json AS JSON[])) AS m, "
        f"generate_subscripts(CAST(moves_json AS JSON[]), 1) AS i FROM lake.{games})"
    )


# Views for researchers: every move (of all games, of the merged games), and the landing
# ledger (one row per file hash: its terminal event, ingested or quarantined, else its
# latest: another host may stage the same bytes after one ingested them).
VIEWS = {
    "moves": _moves_view("games"),
    "moves_merged": _moves_view("games_merged"),
    "landed_files": (
        "SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY file_hash ORDER BY "
        "CASE event WHEN 'ingested' THEN 0 WHEN 'quarantined' THEN 0 WHEN 'staged' THEN 1 ELSE 2 END, "
        "event_at DESC) AS rn "
        "FROM lake.landing_events WHERE event <> 'duplicate') WHERE rn = 1"
    ),
}


def _migrate(con, name: str, schema: pa.Schema) -> bool:
    """Bring an existing table to ``schema``: add missing columns; recreate a derived
    table whose columns changed otherwise.  A changed column of a primary table is an
    error (nothing is dropped from it)."""
    cols = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'lake' "
                            "AND table_name = ?", [name]).fetchall())
    spelled = {t: con.execute(f"SELECT typeof(NULL::{t})").fetchone()[0] for t in set(_SQL_TYPES.values())}
    want = {f.name: spelled[_SQL_TYPES[f.type]] for f in schema}
    changed = sorted(c for c in want if c in cols and cols[c] != want[c]) + sorted(set(cols) - set(want))
    missing = [c for c in want if c not in cols]
    if not changed and not missing:
        return False
    if name in DERIVED and changed:
        con.execute(f'DROP TABLE lake."{name}"')
        con.execute(f'CREATE TABLE lake."{name}" ({_columns(schema)})')
        parts = TABLES[name][1]
        if parts:
            con.execute(f'ALTER TABLE lake."{name}" SET PARTITIONED BY ({", ".join(parts)})')
        return True
    if changed:
        raise ValueError(f"lake.{name}: columns {changed} differ from this code's layout ({want}); "
                         "the table holds primary data and is not changed automatically")
    for c in missing:
        con.execute(f'ALTER TABLE lake."{name}" ADD COLUMN "{c}" {_SQL_TYPES[schema.field(c).type]}')
    return True


def _normal_view_sql(con, body: str) -> str:
    """DuckDB's stored form of a view on ``body`` (it rewrites what it stores), to
    compare with a stored view's."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _ringrift_view_probe AS {body}")
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = '_ringrift_view_probe' AND temporary"
                      ).fetchone()[0]
    con.execute("DROP VIEW _ringrift_view_probe")
    return sql


def _view_body(sql: Optional[str]) -> str:
    """A stored ``CREATE VIEW <name> AS <body>``'s body."""
    return (sql or "").split(" AS ", 1)[-1].strip()


def ensure_tables(con) -> list:
    """Create the tables and views that do not exist yet; returns the created names."""
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}
    views = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE database_name = 'lake'").fetchall())
    made = []
    for name, (schema, parts) in TABLES.items():
        if name in have:
            if _migrate(con, name, schema):
                made.append(f"{name} (layout changed)")
            continue
        con.execute(f'CREATE TABLE lake."{name}" ({_columns(schema)})')
        if parts:
            con.execute(f'ALTER TABLE lake."{name}" SET PARTITIONED BY ({", ".join(parts)})')
        made.append(name)
    for name, body in VIEWS.items():
        if name not in views:
            con.execute(f'CREATE VIEW lake."{name}" AS {body}')
            made.append(name)
        elif _view_body(views[name]) != _view_body(_normal_view_sql(con, body)):
            # a view this code defines otherwise (a view holds no data: replaced)
            con.execute(f'CREATE OR REPLACE VIEW lake."{name}" AS {body}')
            made.append(f"{name} (definition changed)")
    if "lake_info" in made:
        import uuid

        from ..version import code_version

        con.execute("INSERT INTO lake.lake_info VALUES (?, now(), ?)", [str(uuid.uuid4()), code_version()])
    return made


__all__ = [
    "BIG_GAME_COLUMNS",
    "LAKE_INFO_SCHEMA",
    "CALIBRATION_SCHEMA",
    "ELO_SCHEMA",
    "GAMES_SCHEMA",
    "HEURISTIC_WEIGHTS_SCHEMA",
    "LADDER_RATINGS_SCHEMA",
    "LANDING_EVENTS_SCHEMA",
    "MODELS_SCHEMA",
    "SAMPLES_SCHEMA",
    "SAMPLE_SETS_SCHEMA",
    "SAMPLE_SET_GAMES_SCHEMA",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "ensure_tables",
]
