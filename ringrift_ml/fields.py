"""A config dataclass's fields as documentation and as command-line flags.

A config dataclass documents each field in a string under it.  Every other form of the
config (a Dagster config, command-line flags) takes its name, type, default and help
text from the dataclass, so none of them can restate a default or miss a setting:

* :func:`field_docs`: ``{field: docstring}``;
* :func:`add_arguments` / :func:`arguments_to_fields`: one flag per field (nested
  config dataclasses flattened, ``--temperature-opening-moves``), parsed back into
  the dataclass's keyword arguments.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import json
import textwrap
import typing


def field_docs(cls) -> dict:
    """``{field name: its docstring, whitespace collapsed}`` of a dataclass."""
    return dict(_field_docs(cls))


@functools.lru_cache(maxsize=None)
def _field_docs(cls) -> dict:
    # Parsed once per class: building the command line asks for every flag's text, and
    # reading a class's source each time cost most of a second per ``ringrift`` call.
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            docs[a.target.id] = " ".join(str(b.value.value).split())
    return docs


def _flag(path: str) -> str:
    return "--" + path.replace(".", "-").replace("_", "-")


def _dest(path: str) -> str:
    return path.replace(".", "__")


def _optional_of(kind):
    """``X`` for ``Optional[X]``, else None."""
    if typing.get_origin(kind) is typing.Union:
        rest = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(rest) == 1 and len(typing.get_args(kind)) == 2:
            return rest[0]
    return None


def _csv(text: str) -> tuple:
    items = tuple(x.strip() for x in str(text).split(","))
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def _walk(cls, skip, prefix=""):
    """``(path, field, type, default)`` of every leaf field, nested dataclasses flattened."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = prefix + f.name
        if path in skip:
            continue
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            yield from _walk(kind, skip, path + ".")
        else:
            default = f.default if f.default is not dataclasses.MISSING else None
            yield path, f, kind, default


def _doc(cls, path: str) -> str:
    *parents, name = path.split(".")
    for p in parents:
        cls = typing.get_type_hints(cls)[p]
    return _field_docs(cls).get(name, "")


def add_arguments(parser, cls, *, skip=(), aliases=None, choices=None, json_fields=(), defaults=None,
                  optional_defaults: bool = False, prefix: str = "", flags=None) -> None:
    """One flag per field of the dataclass ``cls`` (``--field-name``; a nested config
    dataclass ``temperature`` gives ``--temperature-<field>``), typed by the field,
    documented by its docstring with its default.

    ``skip``: field paths left out (``"board"``, ``"temperature.decay"``); ``aliases``:
    ``{path: extra flag names}``; ``choices``: ``{path: allowed values}``;
    ``json_fields``: tuple-of-pairs fields given as a JSON object; ``defaults``: this
    command's defaults where they differ from the dataclass's (shown in the help);
    ``optional_defaults``: flags that are not given stay out of the result of
    :func:`arguments_to_fields` (for commands that read a config file first);
    ``prefix``: every flag as ``--<prefix>-<field>`` (two configs on one command);
    ``flags``: ``{path: flag}`` where a field's flag is not its name (one spelling
    across commands, e.g. ``--num-players`` for a player count).
    Paths in ``skip``, ``aliases`` ... never carry the prefix.
    A ``bool`` field gets ``--x`` / ``--no-x``; a ``tuple`` field a comma-separated list;
    ``Optional[X]`` an ``X``."""
    aliases, choices, defaults, flags = aliases or {}, choices or {}, defaults or {}, flags or {}
    pre = prefix + "." if prefix else ""
    for path, f, kind, default in _walk(cls, set(skip)):
        default = defaults.get(path, default)
        names = (flags.get(path) or _flag(pre + path), *aliases.get(path, ()))
        doc = _doc(cls, path).replace("%", "%%")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING \
            and path not in defaults
        kw = {"dest": _dest(pre + path), "choices": choices.get(path)}
        if path in json_fields:
            shown = json.dumps(dict(default)) if default else "none"
            kw.update(metavar="JSON", help=f"{doc} As a JSON object (default {shown}).")
        elif kind is bool:
            kw.update(action=argparse.BooleanOptionalAction, help=f"{doc} (default {'on' if default else 'off'})")
        else:
            inner = _optional_of(kind) or kind
            if inner is tuple:
                kw.update(type=_csv, metavar="A,B,...")
                shown = ",".join(map(str, default)) if default else "none"
            else:
                kw.update(type=inner if inner in (int, float, str) else str,
                          metavar=None if path in choices else path.split(".")[-1].upper())
                shown = default
            kw["help"] = f"{doc} (default {shown})" if default not in ("", None) else doc
        if required:
            kw["required"] = True
        elif optional_defaults:
            kw["default"] = argparse.SUPPRESS
        else:
            kw["default"] = default
        parser.add_argument(*names, **{k: v for k, v in kw.items() if v is not None or k == "default"})


def arguments_to_fields(args, cls, *, skip=(), json_fields=(), prefix: str = "") -> dict:
    """The keyword arguments of ``cls`` from flags added by :func:`add_arguments` with
    the same ``skip``, ``json_fields`` and ``prefix`` (nested dataclasses built; with
    ``optional_defaults`` only the flags given, nested ones as dicts of their fields).
    A JSON field that does not parse raises ``ValueError`` naming the flag."""
    out: dict = {}
    pre = prefix + "." if prefix else ""
    for path, f, kind, default in _walk(cls, set(skip)):
        dest = _dest(pre + path)
        if not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if path in json_fields and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"{_flag(pre + path)}: not JSON ({e})") from None
            if not isinstance(value, dict):
                raise ValueError(f"{_flag(pre + path)}: expected a JSON object")
            value = tuple(sorted(value.items()))
        node = out
        *parents, name = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[name] = value
    hints = typing.get_type_hints(cls)
    for name, value in list(out.items()):
        kind = hints.get(name)
        if isinstance(value, dict) and dataclasses.is_dataclass(kind):
            base = next(f.default for f in dataclasses.fields(cls) if f.name == name)
            out[name] = dataclasses.replace(base, **value) if dataclasses.is_dataclass(base) else kind(**value)
    return out


__all__ = ["add_arguments", "arguments_to_fields", "field_docs"]
