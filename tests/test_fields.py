"""Command-line flags derived from config dataclasses: types, defaults, nesting, JSON
fields, overrides; and the real commands' flags cover their configs with one default."""

import argparse
import dataclasses
from typing import Optional

import pytest

from ringrift_ml.fields import add_arguments, arguments_to_fields, field_docs


@dataclasses.dataclass(frozen=True)
class Inner:
    depth: int = 3
    """How deep."""
    rate: float = 0.5
    """How fast."""


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    """Required name."""
    count: int = 2
    """A count."""
    flag: bool = False
    """A switch."""
    label: Optional[str] = None
    """Optional label."""
    items: tuple = ("a", "b")
    """A list."""
    pairs: tuple = ()
    """Overrides."""
    inner: Inner = Inner()
    """Nested."""


def _parse(argv, **kw):
    ap = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(ap, Outer, json_fields=("pairs",), **kw)
    return ap.parse_args(argv)


def test_defaults_round_trip_to_the_dataclass():
    args = _parse(["--name", "x"])
    assert Outer(**arguments_to_fields(args, Outer, json_fields=("pairs",))) == Outer(name="x")


def test_every_kind_of_field_parses():
    args = _parse(["--name", "x", "--count", "7", "--flag", "--label", "l", "--items", "p, q,r",
                   "--pairs", '{"z": 1, "a": [2]}', "--inner-depth", "9", "--short-rate", "0.25"],
                  aliases={"inner.rate": ("--short-rate",)})
    got = Outer(**arguments_to_fields(args, Outer, json_fields=("pairs",)))
    assert got == Outer(name="x", count=7, flag=True, label="l", items=("p", "q", "r"), pairs=(("a", [2]), ("z", 1)),
                        inner=Inner(depth=9, rate=0.25))


def test_bad_input_is_named():
    with pytest.raises(argparse.ArgumentError, match="count"):
        _parse(["--name", "x", "--count", "many"])
    with pytest.raises(argparse.ArgumentError, match="items"):
        _parse(["--name", "x", "--items", "a,,b"])
    with pytest.raises(ValueError, match="--pairs: not JSON"):
        arguments_to_fields(_parse(["--name", "x", "--pairs", "{nope"]), Outer, json_fields=("pairs",))
    with pytest.raises(ValueError, match="--pairs: expected a JSON object"):
        arguments_to_fields(_parse(["--name", "x", "--pairs", "[1]"]), Outer, json_fields=("pairs",))


def test_optional_defaults_return_only_what_was_given():
    ap = argparse.ArgumentParser()
    add_arguments(ap, Outer, skip=("name",), optional_defaults=True)
    assert arguments_to_fields(ap.parse_args([]), Outer, skip=("name",)) == {}
    got = arguments_to_fields(ap.parse_args(["--no-flag", "--inner-rate", "2"]), Outer, skip=("name",))
    assert got == {"flag": False, "inner": Inner(depth=3, rate=2.0)}


def test_help_carries_the_docstring_and_the_default():
    ap = argparse.ArgumentParser()
    add_arguments(ap, Outer, defaults={"count": 5})
    text = ap.format_help()
    assert "A count. (default 5)" in text and "How deep. (default 3)" in text and "--inner-rate" in text
    assert Outer(**arguments_to_fields(ap.parse_args(["--name", "n"]), Outer)).count == 5


def _subparser(command):
    from ringrift_ml.cli import build_parser

    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return ap, sub.choices[command]


@pytest.mark.parametrize("command,cls,skip,required", [
    ("selfplay", "ringrift_ml.selfplay:SelfplayConfig", ("weights",), ["--board", "hex8", "--players", "a,b"]),
    ("tune", "ringrift_ml.tuning:TuneConfig", (), ["--board", "hex8"]),
    ("train", "ringrift_ml.train.config:TrainConfig", (), ["--samples", "x.npz", "--out", "o"]),
    ("loop", "ringrift_ml.loop:LoopConfig", ("board", "players"), ["--partition", "hex8|2", "--generations", "1"]),
])
def test_each_command_has_a_documented_flag_per_config_field(command, cls, skip, required):
    import importlib

    mod, name = cls.split(":")
    cls = getattr(importlib.import_module(mod), name)
    _, parser = _subparser(command)
    flags = {s for a in parser._actions for s in a.option_strings}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        if dataclasses.is_dataclass(f.default):
            for g in dataclasses.fields(f.default):
                assert f"--{f.name}-{g.name}".replace("_", "-") in flags
                assert field_docs(type(f.default)).get(g.name)
            continue
        # By its name, or by the one spelling a command gives it (``--num-players``).
        (action,) = [a for a in parser._actions if a.dest == f.name]
        assert "--" + f.name.replace("_", "-") in flags or action.option_strings == ["--num-players"], \
            (command, f.name)
        assert field_docs(cls).get(f.name), (cls.__name__, f.name, "undocumented")


def test_selfplay_flags_default_to_the_config():
    from ringrift_ml.selfplay import SelfplayConfig

    ap, _ = _subparser("selfplay")
    args = ap.parse_args(["selfplay", "--board", "hex8", "--players", "mcts:8, random"])
    got = SelfplayConfig(**arguments_to_fields(args, SelfplayConfig, skip=("weights",)))
    assert got == SelfplayConfig(board="hex8", players=("mcts:8", "random"))
    args = ap.parse_args(["selfplay", "--board", "hex8", "--players", "a,b", "--opening-moves", "3", "--temp", "0.5"])
    t = arguments_to_fields(args, SelfplayConfig, skip=("weights",))["temperature"]
    assert (t.opening_moves, t.base, t.opening) == (3, 0.5, 1.0)


def test_train_flags_override_the_config_file_only_where_given(tmp_path):
    from ringrift_ml.train.config import TrainConfig

    ap, _ = _subparser("train")
    args = ap.parse_args(["train", "--samples", "x.npz", "--out", "o", "--epochs", "3", "--no-augment"])
    assert arguments_to_fields(args, TrainConfig) == {"epochs": 3, "augment": False}
