"""The package's layers hold: the import-linter contracts of pyproject.toml are kept.

The contracts are checked on this checkout (its root first on the path of the checker),
not on whatever copy of the package an environment happens to have installed.
"""

import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _require_import_linter():
    assert importlib.util.find_spec("importlinter"), \
        "import-linter is not installed (it is in the dev extra: pip install -e '.[dev]')"


def test_import_contracts_are_kept():
    _require_import_linter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])}
    # --no-cache: nothing is written into the checkout.
    run = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                          "--no-cache", "--no-logo", "pyproject.toml"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    report = run.stdout + run.stderr
    assert run.returncode == 0, f"import contracts broken (lint-imports --no-cache):\n{report}"
    assert re.search(r"Contracts: \d+ kept, 0 broken", report), report


def test_every_top_level_module_has_a_layer():
    """A module added to ringrift_ml must be given its place in the layers contract
    (a module in no layer is not checked by it at all)."""
    _require_import_linter()
    from importlinter.api import read_configuration

    config = read_configuration(str(ROOT / "pyproject.toml"))
    assert "ignore_imports" not in config["session_options"]
    assert not any("ignore_imports" in c for c in config["contracts_options"]), "no exceptions to the contracts"
    (layers,) = [c["layers"] for c in config["contracts_options"] if c.get("id") == "layers"]
    placed = {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}
    modules = {f"ringrift_ml.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "ringrift_ml")])}
    assert modules - placed == set(), f"top-level modules in no layer: {sorted(modules - placed)}"
    assert placed - modules - {"ringrift_assets"} == set(), "layers naming modules that do not exist"
