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

import numpy as np
import pyarrow as pa

from . import samples
from .lake.records import row_to_record
from .lake.schema import GAMES_SCHEMA, SCHEMA_VERSION
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


def _arrow_schema_problems(table: pa.Table, schema: pa.Schema) -> list:
    have = {f.name: f.type for f in table.schema}
    out = []
    for f in schema:
        if f.name not in have:
            out.append(f"missing column {f.name}")
        elif not _same_type(have[f.name], f.type):
            out.append(f"column {f.name} is {have[f.name]}, expected {f.type}")
    return out


def validate_games(table: pa.Table, replay_sample: int = 20, seed: int = 0) -> QualityReport:
    """The merged games: schema, ranges, uniqueness, and a sampled replay."""
    import great_expectations as gx
    import pandas as pd

    df = table.to_pandas(types_mapper=pd.ArrowDtype)
    df = df.drop(columns=[c for c in ("moves_json", "policy_json") if c in df.columns])
    # A sample of games replayed through the engine: every move legal, winner and
    # ranks reproduced.  Unsampled rows are marked True so only real failures count.
    rows = table.to_pylist()
    picked = set(random.Random(seed).sample(range(len(rows)), min(replay_sample, len(rows))))
    verdicts = []
    for i, row in enumerate(rows):
        if i not in picked:
            verdicts.append("ok")
            continue
        v = replay_record(row_to_record(row), row["game_id"])
        verdicts.append("ok" if v.ok else f"{row['game_id']}: {v.message}")
    df["replay"] = pd.Series(verdicts, dtype="string")
    df["ranks_valid"] = [_ranks_ok(r["ranks"], r["players"], r["winner"]) for r in rows]
    E = gx.expectations
    schema_problems = _arrow_schema_problems(table, GAMES_SCHEMA)
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


def validate_samples(table: pa.Table, n_cells: int) -> QualityReport:
    """Training samples: finite features of the right size, policies summing to 1, values in range."""
    import great_expectations as gx
    import pandas as pd

    F = samples.encoding.feature_size(n_cells)
    feats = table.column("features").to_pylist() if "features" in table.column_names else []
    legal = table.column("legal_moves").to_pylist() if "legal_moves" in table.column_names else []
    pol = table.column("policy").to_pylist() if "policy" in table.column_names else []
    played = table.column("played").to_pylist() if "played" in table.column_names else []
    df = table.drop_columns([c for c in ("features", "legal_moves", "policy") if c in table.column_names]).to_pandas(
        types_mapper=pd.ArrowDtype)
    df["feature_size"] = [len(f) for f in feats]
    df["features_finite"] = [bool(np.isfinite(np.asarray(f, dtype=np.float64)).all()) for f in feats]
    df["policy_sum"] = [float(np.sum(p)) if p else math.nan for p in pol]
    df["policy_min"] = [float(np.min(p)) if p else math.nan for p in pol]
    df["policy_matches_moves"] = [len(p) * 3 == len(lm) for p, lm in zip(pol, legal)]
    df["played_in_range"] = [0 <= i < len(p) for i, p in zip(played, pol)]
    df["schema"] = "; ".join(_arrow_schema_problems(table, samples.SAMPLES_SCHEMA)) or "ok"
    E = gx.expectations
    exps = [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToBeInSet(column="schema", value_set=["ok"]),
        E.ExpectColumnValuesToBeInSet(column="feature_size", value_set=[F]),
        E.ExpectColumnValuesToBeInSet(column="features_finite", value_set=[True]),
        E.ExpectColumnValuesToBeBetween(column="policy_sum", min_value=1 - 1e-4, max_value=1 + 1e-4),
        E.ExpectColumnValuesToBeBetween(column="policy_min", min_value=0.0),
        E.ExpectColumnValuesToBeInSet(column="policy_matches_moves", value_set=[True]),
        E.ExpectColumnValuesToBeInSet(column="played_in_range", value_set=[True]),
        E.ExpectColumnValuesToBeBetween(column="value", min_value=-1.0, max_value=1.0),
        E.ExpectColumnValuesToBeBetween(column="move_number", min_value=0),
        E.ExpectColumnValuesToBeBetween(column="player", min_value=1, max_value=4),
    ]
    return _run("training_samples", df, exps)
