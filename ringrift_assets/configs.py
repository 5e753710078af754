"""Dagster configs derived from the library's dataclasses (one default per setting).

``config_from_dataclass`` is the one mechanism: every field of the dataclass becomes a
config field with its type, default and docstring, so the UI's launchpad documents
what the library documents and the two cannot drift apart.  ``LoopSettings`` is the
closed loop's ``LoopConfig`` as a resource: every step of a generation in the graph
(selfplay, samples, candidate, gate, ladder) reads the same settings in one run.
"""

import dataclasses
import json
import typing

import dagster as dg
import pydantic

from ringrift_ml.fields import field_docs
from ringrift_ml.lake.layout import Partition
from ringrift_ml.loop import LoopConfig


def config_from_dataclass(name: str, cls, defaults: dict, exclude: tuple = (), retype: dict | None = None,
                          base: type = dg.Config, prefix: str = "") -> type:
    """A ``dg.Config`` with one field per dataclass field (``defaults`` override the
    dataclass's own defaults for this use; ``exclude`` leaves fields out, e.g. those the
    partition decides; ``retype`` maps a field to ``(type, default, description)`` where
    the dataclass's type has no Dagster config form; ``base``: ``dg.Config`` for an op's
    config, ``dg.ConfigurableResource`` for a resource, or another derived config to
    extend; ``prefix``: prepended to every field name, for a second dataclass on one
    config)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        if retype and f.name in retype:
            kind, default, doc = retype[f.name]
            fields[prefix + f.name] = (kind, pydantic.Field(default=default, description=doc))
            continue
        default = defaults.get(f.name, f.default)
        fields[prefix + f.name] = (hints[f.name], pydantic.Field(default=default, description=docs.get(f.name)))
    return pydantic.create_model(name, __base__=base, **fields)


def _loop_fields(base: type, name: str) -> type:
    # The partition gives board and players; ``train`` is JSON here.
    return config_from_dataclass(
        name, LoopConfig, {}, exclude=("board", "players"), base=base,
        retype={"train": (str, "{}", 'TrainConfig overrides as JSON, e.g. {"epochs": 12}.'),
                "warm_train": (str, json.dumps(dict(LoopConfig.warm_train)),
                               "Further TrainConfig overrides (JSON) when the candidate starts from the best's "
                               "weights.")})


def loop_config(part: Partition, config) -> LoopConfig:
    """The ``LoopConfig`` of a partition from a derived config or resource (a bad value
    raises ``ValueError`` naming the field)."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(LoopConfig)
              if f.name not in ("board", "players")}
    for name in ("train", "warm_train"):
        try:
            over = json.loads(fields.pop(name) or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"{name}: not JSON ({e})") from None
        if not isinstance(over, dict):
            raise ValueError(f"{name}: expected a JSON object of TrainConfig fields")
        fields[name] = tuple(sorted(over.items()))
    return LoopConfig(board=part.board, players=part.players, **fields)


class LoopSettings(_loop_fields(dg.ConfigurableResource, "LoopFields")):
    """The closed loop's settings, for the graph's generation chain (``selfplay_games`` ...
    ``elo_ladder``) and for ``loop_generation`` alike: one resource, so every step of a
    run plays, trains and gates the same generation under the same settings.  A run
    overrides them in its run config (``resources: loop: config:``; the loop sensor
    passes each partition's budget entry that way)."""

    def config(self, part: Partition) -> LoopConfig:
        return loop_config(part, self)

    def for_run(self, context) -> tuple:
        """``(partition, LoopConfig)`` of an asset or check run; bad settings fail the
        run with the partition and the field named."""
        from .partitions import partition_of

        part = partition_of(context)
        try:
            return part, self.config(part)
        except ValueError as e:
            raise dg.Failure(f"partition {part}: bad loop settings: {e}") from e


def _campaign_fields() -> type:
    from ringrift_ml.loop.campaign import CampaignConfig

    return config_from_dataclass(
        "CampaignFields", CampaignConfig, {},
        retype={"partitions": (str, "", "Partition keys, comma-separated (square8|2,hex8|2); empty: all 12, the "
                                        "cheapest first."),
                "loop": (str, "{}", 'LoopConfig overrides for every partition as JSON, e.g. {"games": 200}.')})


class CampaignSettings(_campaign_fields()):
    """A campaign's settings (``ringrift_ml.loop.campaign.CampaignConfig``) for ``campaign_summary``."""

    def campaign(self):
        """The ``CampaignConfig`` (a bad value raises ``ValueError`` naming the field)."""
        from ringrift_ml.loop.campaign import CampaignConfig, all_partitions

        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(CampaignConfig)}
        keys = [k.strip() for k in fields["partitions"].split(",") if k.strip()]
        fields["partitions"] = tuple(keys) if keys else all_partitions()
        try:
            loop = json.loads(fields["loop"] or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"loop: not JSON ({e})") from None
        if not isinstance(loop, dict):
            raise ValueError("loop: expected a JSON object of LoopConfig fields")
        fields["loop"] = tuple(sorted(loop.items()))
        return CampaignConfig(**fields)
