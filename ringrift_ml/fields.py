"""The documentation of a dataclass's fields, read from its source.

A config dataclass documents each field in a string under it.  Every other form of the
config (a Dagster config, command-line flags) takes its help text from here, so the
text has one home."""

from __future__ import annotations

import ast
import inspect
import textwrap


def field_docs(cls) -> dict:
    """``{field name: its docstring, whitespace collapsed}`` of a dataclass."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            docs[a.target.id] = " ".join(str(b.value.value).split())
    return docs


__all__ = ["field_docs"]
