"""Dagster definitions over ``ringrift_ml`` (thin wrappers; no game logic here)."""

from .definitions import build_definitions, defs

__all__ = ["build_definitions", "defs"]
