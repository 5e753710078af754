"""The Dagster layer stays thin: its modules build no storage paths and hold no SQL.

Paths come from ``ringrift_ml.lake.layout``, queries from the library; what is left in
``ringrift_assets`` is wiring and presentation."""

import ast
import re
from pathlib import Path

import ringrift_assets

ROOT = Path(ringrift_assets.__file__).parent
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE)\b.*\b(FROM|INTO|TABLE|SET)\b", re.S)
# Files of the Dagster instance itself (its home and config), not of the storage root.
ALLOWED_PATH_FUNCTIONS = {("run.py", "instance_for")}


def _strings(node) -> list:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    return []


def _findings(path: Path) -> list:
    tree = ast.parse(path.read_text())
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    out = []

    def visit(node, fn: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fn = node.name
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                and (_strings(node.left) or _strings(node.right)) and (path.name, fn) not in ALLOWED_PATH_FUNCTIONS):
            out.append(f"{path.name}:{node.lineno} ({fn}): builds a path")
        if id(node) not in parts:  # a piece of an f-string is judged with the whole string
            for s in _strings(node):
                # A command shown to the user (``ringrift lake sql "SELECT ..."``) is text, not a query.
                if SQL.search(s) and "ringrift lake sql" not in s:
                    out.append(f"{path.name}:{node.lineno} ({fn}): SQL {s[:40]!r}")
        for child in ast.iter_child_nodes(node):
            visit(child, fn)

    visit(tree, "<module>")
    return out


def test_assets_build_no_paths_and_hold_no_sql():
    found = [f for p in sorted(ROOT.glob("*.py")) for f in _findings(p)]
    assert found == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(root, store):\n    p = root / "models" / f"{1}_2p"\n'
                   '    return store.query("SELECT count(*) FROM lake.games")\n')
    found = _findings(bad)
    assert any("builds a path" in f for f in found) and any("SQL" in f for f in found)
