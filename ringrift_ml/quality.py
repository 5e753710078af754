"""Data-quality suites (great-expectations) for the merged games and the samples.

Each ``validate_*`` returns a ``QualityReport``: overall success, one line per
failed expectation (what was expected, how many rows broke it, examples), and the
full per-expectation results for metadata.  Row-wise facts that are not plain
column values — a replay verdict, finiteness of a feature vector, the sum of a
policy — are first computed as derived columns, then checked by expectations like
any other column, so one report explains every failure.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from typing import Callable, Optional

import numpy as np
import pyarrow as pa

from .lake.records import row_to_record
from .lake.schema import BIG_GAME_COLUMNS, GAMES_SCHEMA, SCHEMA_VERSION
from .rules.records import replay_record


@dataclasses.dataclass
class QualityReport:
    suite: str
    success: bool
    rows: int
    failures: list  # human-readable lines
    results: list  # [{"expectation", "column", "success", "unexpected_count", "examples"}]

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {len(self.results)} expectations hold on {self.rows} rows"
        return f"{self.suite}: {len(self.failures)} of {len(self.results)} expectations fail: " + "; ".join(
            self.failures)


_CTX = None


def _context():
    """One ephemeral great-expectations context per process (creating one costs ~0.1 s)."""
    global _CTX
    if _CTX is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        _CTX = gx.get_context(mode="ephemeral")
        _CTX.variables.progress_bars = ProgressBarsConfig(globally=False)
    return _CTX


def _run(name: str, df, expectations: list) -> QualityReport:
    import great_expectations as gx

    ctx = _context()
    ds = ctx.data_sources.add_or_update_pandas(f"ringrift_{name}")
    asset = ds.add_dataframe_asset(f"{name}_{id(df)}")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=f"{name}_{id(df)}", expectations=expectations)
    res = batch.validate(suite)
    ds.delete_asset(asset.name)
    failures, results = [], []
    for r in res.results:
        cfg = r.expectation_config
        kw = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
        col = kw.get("column")
        examples = (r.result or {}).get("partial_unexpected_list") or []
        entry = {
            "expectation": cfg.type,
            "column": col,
            "success": bool(r.success),
            "unexpected_count": (r.result or {}).get("unexpected_count"),
            "examples": [str(x) for x in examples[:5]],
            "observed": str((r.result or {}).get("observed_value")),
        }
        results.append(entry)
        if not r.success:
            args = ", ".join(f"{k}={v}" for k, v in kw.items() if k != "column")
            what = f"{cfg.type}({col}{', ' if col and args else ''}{args})"
            bad = entry["unexpected_count"]
            failures.append(f"{what}: {bad if bad is not None else 'observed ' + entry['observed']}"
                            + (f" bad rows, e.g. {entry['examples']}" if examples else ""))
    return QualityReport(name, bool(res.success), len(df), failures, results)


_UTC = {"UTC", "Etc/UTC", "+00:00"}


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    """Equal types, counting the spellings of UTC as one time zone (DuckDB reads
    timestamps back as ``Etc/UTC``)."""
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return a.unit == b.unit and (a.tz == b.tz or (a.tz in _UTC and b.tz in _UTC))
    return a == b


def _arrow_schema_problems(table, schema: pa.Schema) -> list:
    """What ``table`` (an Arrow table or schema) lacks or types otherwise than ``schema``."""
    have = {f.name: f.type for f in (table if isinstance(table, pa.Schema) else table.schema)}
    out = []
    for f in schema:
        if f.name not in have:
            out.append(f"missing column {f.name}")
        elif not _same_type(have[f.name], f.type):
            out.append(f"column {f.name} is {have[f.name]}, expected {f.type}")
    return out


def validate_games(table: pa.Table, replay_sample: int = 20, seed: int = 0,
                   fetch: Optional[Callable[[list], pa.Table]] = None) -> QualityReport:
    """The merged games: schema, ranges, uniqueness, and a sampled replay.  ``table`` may
    leave out the big move and target columns when ``fetch`` is given: it returns the
    whole rows of the sampled ``entry_id``s (read whole only for the replay, since a big
    partition's moves do not fit one Arrow read), whose schema is checked too."""
    import great_expectations as gx
    import pandas as pd

    light = "moves_json" not in table.column_names
    if light and fetch is None:
        raise ValueError("validate_games: the table has no moves_json column; pass fetch to read the replayed games")
    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    df = df.drop(columns=[c for c in BIG_GAME_COLUMNS if c in df.columns])
    # A sample of games replayed through the engine: every move legal, winner and
    # ranks reproduced.  Unsampled rows are marked True so only real failures count.
    rows = table.to_pylist()
    picked = set(random.Random(seed).sample(range(len(rows)), min(replay_sample, len(rows))))
    schema_problems = []
    if light:
        whole = fetch([rows[i]["entry_id"] for i in sorted(picked)])
        schema_problems = _arrow_schema_problems(whole, pa.schema([GAMES_SCHEMA.field(c) for c in BIG_GAME_COLUMNS]))
        by_entry = {r["entry_id"]: r for r in whole.to_pylist()}
    verdicts = []
    for i, row in enumerate(rows):
        if i not in picked:
            verdicts.append("ok")
            continue
        if light:
            if row["entry_id"] not in by_entry:
                verdicts.append(f"{row['game_id']}: not found when read whole")
                continue
            row = by_entry[row["entry_id"]]
        try:
            v = replay_record(row_to_record(row), row["game_id"])
        except (ValueError, TypeError, KeyError) as e:  # a row that is no record (JSONDecodeError is a ValueError)
            verdicts.append(f"{row['game_id']}: unreadable: {type(e).__name__}: {e}")
            continue
        verdicts.append("ok" if v.ok else f"{row['game_id']}: {v.message}")
    df["replay"] = pd.Series(verdicts, dtype="string")
    df["ranks_valid"] = [_ranks_ok(r["ranks"], r["players"], r["winner"]) for r in rows]
    E = gx.expectations
    schema = pa.schema([f for f in GAMES_SCHEMA if not light or f.name not in BIG_GAME_COLUMNS])
    schema_problems = _arrow_schema_problems(table, schema) + schema_problems
    df["schema"] = "; ".join(schema_problems) or "ok"
    exps = [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToBeInSet(column="schema", value_set=["ok"]),
        E.ExpectColumnValuesToBeInSet(column="schema_version", value_set=[SCHEMA_VERSION]),
        E.ExpectColumnValuesToBeUnique(column="game_id"),
        E.ExpectColumnValuesToNotBeNull(column="game_id"),
        E.ExpectColumnValuesToBeUnique(column="move_hash"),
        E.ExpectColumnValuesToBeInSet(column="board", value_set=["square8", "square19", "hex8", "hexagonal"]),
        E.ExpectColumnValuesToBeBetween(column="players", min_value=2, max_value=4),
        E.ExpectColumnValuesToBeBetween(column="winner", min_value=1, max_value=4),
        E.ExpectColumnValuesToBeBetween(column="length", min_value=1),
        E.ExpectColumnValuesToBeInSet(column="ranks_valid", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="replay", value_set=["ok"]),
    ]
    if len(df) and "players" in df and "winner" in df:
        df["winner_in_range"] = [w is None or pd.isna(w) or 1 <= int(w) <= int(p)
                                 for w, p in zip(df["winner"], df["players"])]
        exps.append(E.ExpectColumnValuesToBeInSet(column="winner_in_range", value_set=[True]))
    return _run("games_merged", df, exps)


def _ranks_ok(ranks, players, winner) -> bool:
    if ranks is None:
        return winner is None
    try:
        r = {int(k): int(v) for k, v in json.loads(ranks).items()}
    except (ValueError, TypeError, AttributeError):
        return False
    if sorted(r) != list(range(1, players + 1)) or not all(1 <= v <= players for v in r.values()):
        return False
    return winner is None or r.get(winner) == 1


def _sample_row_checks(table, board: str):
    """One batch of samples' per-position findings (a pandas frame, one row a position)."""
    import pandas as pd

    from .nn.features import FEATURES
    from .nn.grid import grid_for
    from .nn.policy import layout_for

    n_cells = grid_for(board).n_cells
    size = layout_for(board).size
    names = table.schema.names
    col = lambda c: table.column(c).to_pylist() if c in names else [None] * table.num_rows  # noqa: E731
    planes, own, glob = col("planes"), col("ownership"), col("globals")
    legal, pol, played, value, sym = col("legal"), col("policy"), col("played"), col("value"), col("sym_legal")
    keep = [c for c in ("game_id", "ply", "move_number", "player") if c in names]
    df = pa.Table.from_arrays([table.column(c) for c in keep], names=keep).to_pandas(types_mapper=pd.ArrowDtype)
    df["planes_ok"] = [p is not None and len(p) == FEATURES.n_planes * n_cells for p in planes]
    df["ownership_ok"] = [o is not None and len(o) == n_cells for o in own]
    df["globals_ok"] = [g is not None and len(g) == FEATURES.n_globals and bool(np.isfinite(g).all()) for g in glob]
    df["legal_ok"] = [bool(lm) and len(set(lm)) == len(lm) and 0 <= min(lm) and max(lm) < size for lm in legal]
    df["policy_matches_legal"] = [p is not None and lm is not None and len(p) == len(lm) for p, lm in zip(pol, legal)]
    df["policy_sum"] = [float(np.sum(p)) if p else math.nan for p in pol]
    df["policy_min"] = [float(np.min(p)) if p else math.nan for p in pol]
    df["played_in_range"] = [lm is not None and i is not None and 0 <= i < len(lm) for i, lm in zip(played, legal)]
    df["value_min"] = [float(np.min(v)) if v else math.nan for v in value]
    df["value_max"] = [float(np.max(v)) if v else math.nan for v in value]
    # A search value is one number in [-1, 1] per seat slot, or absent (no search).
    df["search_value_ok"] = [not q or (len(q) == len(v or ()) and all(-1.0 <= x <= 1.0 for x in q))
                             for q, v in zip(col("search_value"), value)]
    df["symmetries_whole"] = [s is not None and lm is not None and len(lm) > 0 and len(s) % len(lm) == 0
                              for s, lm in zip(sym, legal)]
    return df


def validate_samples(source, board: str) -> QualityReport:
    """Training samples of the spatial network: planes, globals and ownership of the
    encoding's size, legal indices distinct and inside the policy layout, policies
    summing to 1 over them, the move played in range, symmetry tables whole, values (and
    the search's root values, where present) in range.

    ``source``: an Arrow table, or an iterable of record batches (or tables) of one
    schema, checked one at a time: a big board's sample set (82,352 hexagonal positions,
    each with its legal moves under 12 symmetries) is not turned into Python objects
    whole, only the per-position findings are kept."""
    import great_expectations as gx
    import pandas as pd

    from .nn.samples import SAMPLE_SCHEMA

    parts, schema = [], None
    for batch in ([source] if isinstance(source, (pa.Table, pa.RecordBatch)) else source):
        if schema is None:
            schema = batch.schema
        parts.append(_sample_row_checks(batch, board))
    if schema is None:  # no batch at all: the row-count expectation reports it
        schema = SAMPLE_SCHEMA
        parts.append(_sample_row_checks(SAMPLE_SCHEMA.empty_table(), board))
    df = pd.concat(parts, ignore_index=True)
    df["schema"] = "; ".join(_arrow_schema_problems(schema, SAMPLE_SCHEMA)) or "ok"
    E = gx.expectations
    exps = [E.ExpectTableRowCountToBeBetween(min_value=1),
            E.ExpectColumnValuesToBeInSet(column="schema", value_set=["ok"])]
    for c in ("planes_ok", "ownership_ok", "globals_ok", "legal_ok", "policy_matches_legal", "played_in_range",
              "search_value_ok", "symmetries_whole"):
        exps.append(E.ExpectColumnValuesToBeInSet(column=c, value_set=[True]))
    exps += [
        E.ExpectColumnValuesToBeBetween(column="policy_sum", min_value=1 - 1e-4, max_value=1 + 1e-4),
        E.ExpectColumnValuesToBeBetween(column="policy_min", min_value=0.0),
        E.ExpectColumnValuesToBeBetween(column="value_min", min_value=-1.0, max_value=1.0),
        E.ExpectColumnValuesToBeBetween(column="value_max", min_value=-1.0, max_value=1.0),
        E.ExpectColumnValuesToBeBetween(column="move_number", min_value=0),
        E.ExpectColumnValuesToBeBetween(column="player", min_value=1, max_value=4),
    ]
    return _run("training_samples", df, exps)
