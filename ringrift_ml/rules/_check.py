"""Small checks shared by the JSON readers (moves, states, positions).

Input is strict: an integer field takes a plain integer (``int`` or a numpy integer),
never a bool, a float (not even ``2.0``) or a string, and stays within
``±INT_LIMIT`` so that it fits the ``int64`` state array and the kernels' arithmetic.
Error messages show offending values through :func:`show`, which bounds their length
and nesting (a deeply nested or huge value must not turn a ``ValueError`` into a
``RecursionError`` or a wall of text).
"""

from __future__ import annotations

import reprlib

import numpy as np

INT_LIMIT = 2**31 - 1
"""Largest magnitude accepted for any integer read from JSON."""

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 40
_repr.maxlist = 8
_repr.maxtuple = 8
_repr.maxdict = 6


def show(value) -> str:
    """A short ``repr`` of ``value`` for error messages; never raises."""
    try:
        return _repr.repr(value)
    except Exception:  # e.g. an int too long to print, a broken __repr__
        return f"<{type(value).__name__}>"


def is_int(value) -> bool:
    """``value`` is a plain integer: ``int`` or a numpy integer, not a bool."""
    return type(value) is int or (
        isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    )


def int_value(value, field: str, lo: int = -INT_LIMIT, hi: int = INT_LIMIT, what: str = "an integer") -> int:
    """``value`` as an ``int``; ``ValueError`` naming ``field`` unless it is a plain
    integer in ``lo..hi``."""
    if not is_int(value):
        raise ValueError(f"{field}: expected {what}, got {show(value)}")
    v = int(value)
    if v < lo:
        raise ValueError(f"{field}: must be >= {lo}, got {v}")
    if v > hi:
        raise ValueError(f"{field}: must be <= {hi}, got {v}")
    return v


def canonical_int(text: str) -> bool:
    """``text`` is an integer written the way ``str(int)`` writes it (no sign other
    than a leading ``-``, no leading zeros, spaces or underscores, no ``-0``)."""
    digits = text[1:] if text[:1] == "-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    return not (digits[0] == "0" and (len(digits) > 1 or text[:1] == "-"))


def parse_key(key, field: str) -> tuple:
    """The integers of a position key ``"x,y"`` / ``"x,y,z"``.

    Keys must be canonical: each coordinate written as ``str(int)`` writes it, so
    ``"01,1"``, ``" 1,1"``, ``"+1,1"`` or ``"1_0,1"`` are rejected rather than read as
    another spelling of a cell."""
    if not isinstance(key, str):
        raise ValueError(f"{field}: expected a string like 'x,y', got {show(key)}")
    parts = key.split(",")
    if any(len(p) > 11 for p in parts):  # longer than -2147483647: out of range or malformed
        raise ValueError(f"{field}: malformed or out-of-range position key {show(key)}")
    if len(parts) not in (2, 3) or not all(canonical_int(p) for p in parts):
        hint = ""
        if len(parts) in (2, 3):
            try:  # another spelling of a cell: say which key is meant
                hint = "; write it as " + show(",".join(str(int(p)) for p in parts))
            except ValueError:
                pass
        raise ValueError(
            f"{field}: malformed position key {show(key)}; "
            f"expected 'x,y' or 'x,y,z' with plain integers{hint}"
        )
    nums = tuple(int(p) for p in parts)
    if any(abs(v) > INT_LIMIT for v in nums):
        raise ValueError(f"{field}: coordinate out of range in position key {show(key)}")
    return nums
