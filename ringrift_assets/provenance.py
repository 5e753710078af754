"""Provenance metadata every materialization records."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from ringrift_ml.version import code_version, file_digest  # code_version: re-exported for the assets


def config_hash(config: dg.Config) -> str:
    blob = json.dumps(config.model_dump(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_version(path) -> str:
    """Content hash of a file: the data version downstream assets record (the same id
    the loop's registry and the game configs give a model)."""
    return file_digest(path)


def provenance(config=None, inputs: dict | None = None) -> dict:
    md = {"code_version": code_version()}
    if config is not None:
        md["config_hash"] = config_hash(config)
        md["config"] = dg.MetadataValue.json(config.model_dump())
    if inputs:
        md["input_data_versions"] = dg.MetadataValue.json(inputs)
    return md


def table(records: list, columns: list) -> dg.MetadataValue:
    """A table with its schema (``columns``: ``(name, type)`` pairs; each record a dict
    with those keys).  The UI shows a table inline, where markdown waits behind a click."""
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns])
    return dg.MetadataValue.table([dg.TableRecord({name: r[name] for name, _ in columns}) for r in records],
                                  schema=schema)


def column_schema(table_name: str) -> dict:
    """Definition metadata naming the lake table an asset writes, with its columns
    (``dagster/column_schema``: the UI's Columns view; the types are the lake's)."""
    from ringrift_ml.lake.schema import TABLES

    schema = TABLES[table_name][0]
    return {"dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema]),
            "lake_table": f"lake.{table_name}"}
