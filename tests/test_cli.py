"""The ``ringrift`` command line: replay verdicts and selfplay statistics."""

import gzip
import json

import pytest

from ringrift_ml.cli import main

from .conftest import CONFORMANCE


def test_selfplay_prints_statistics_and_writes_replayable_records(tmp_path, capsys):
    out = tmp_path / "games.jsonl"
    assert main(["rules", "selfplay", "--board", "hex8", "--num-players", "3", "--games", "12", "--seed", "1",
                 "--out", str(out), "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["games"] == 12 and summary["finished"] == 12
    assert abs(sum(summary["winner_share"].values()) - 1.0) < 1e-9
    assert sum(summary["victory_reasons"].values()) == 12
    assert summary["length"]["min"] > 0
    lines = out.read_text().splitlines()
    assert len(lines) == 12
    rec = json.loads(lines[0])
    assert rec["schema"] == "ringrift-lab/game/v1" and rec["winner"] in (1, 2, 3)
    assert main(["rules", "replay", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().endswith("12 passed, 0 failed")


def test_selfplay_is_deterministic_under_its_seed(tmp_path, capsys):
    args = ["rules", "selfplay", "--board", "square8", "--num-players", "2", "--games", "5", "--seed", "9",
            "--json", "--no-progress"]
    main(args)
    first = json.loads(capsys.readouterr().out)
    main(args)
    second = json.loads(capsys.readouterr().out)
    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_replay_reports_bad_records_and_fails(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text((CONFORMANCE / "golden-games" / "smoke_hex8_2p_mjk8qhtj.json").read_text())
    bad = tmp_path / "bad.json"
    rec = json.loads(good.read_text())
    rec["moves"][1]["to"] = rec["moves"][1]["from"]  # a stack cannot stay where it is
    bad.write_text(json.dumps(rec))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code = main(["rules", "replay", str(good), str(bad), str(broken), str(tmp_path / "missing.json"), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert "OK   " in captured.out and "move 2:" in captured.out and "cannot read" in captured.out
    assert captured.out.strip().endswith("1 passed, 3 failed")


def test_replay_accepts_all_golden_games_and_names_their_rules(capsys):
    files = sorted(str(p) for p in (CONFORMANCE / "golden-games").glob("*.json"))
    assert main(["rules", "replay", *files, "--json", "--no-progress"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    verdicts = [l for l in lines if "source" in l]
    assert len(verdicts) == 5 and all(v["ok"] for v in verdicts)
    assert all(v["rules"]["territoryRepresentation"] == "rings" for v in verdicts)
    summary = lines[-1]["summary"]
    assert (summary["passed"], summary["failed"]) == (5, 0) and summary["seconds"] >= 0
    assert main(["rules", "replay", files[0], "--no-progress"]) == 0
    assert "[rules: golden]" in capsys.readouterr().out


def test_replay_rules_profile_can_be_forced(capsys):
    full = str(CONFORMANCE / "golden-games" / "fullgame_hex8_2p_f6bb4e8e.json")
    assert main(["rules", "replay", full, "--rules", "canonical", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "move 47" in out and out.strip().endswith("0 passed, 1 failed")
    ref = str(CONFORMANCE / "reference-games" / "square8_2p_seed0001.json.gz")
    assert main(["rules", "replay", ref, "--rules", "golden", "--no-progress"]) == 1
    assert "[rules: golden]" in capsys.readouterr().out


def test_bad_arguments():
    assert main(["rules", "selfplay", "--board", "square8", "--num-players", "3", "--swap", "--no-progress"]) == 2
    assert main(["rules", "selfplay", "--board", "square8", "--games", "0", "--no-progress"]) == 2


def test_replay_in_several_processes_gives_the_same_verdicts(capsys):
    files = sorted(str(p) for p in (CONFORMANCE / "reference-games").glob("hex8_2p_seed010*.json.gz"))
    assert main(["rules", "replay", *files, "--json", "--no-progress", "--workers", "2"]) == 0
    parallel = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()][:-1]
    assert main(["rules", "replay", *files, "--json", "--no-progress"]) == 0
    serial = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()][:-1]
    assert parallel == serial and len(serial) == len(files)
    assert main(["rules", "replay", files[0], "--workers", "0"]) == 2


def test_conformance_summarises_every_kind_of_data(capsys, tmp_path):
    # A small copy of the shared folder (the full data runs in tests/rules).
    import shutil

    root = tmp_path / "conformance"
    for kind, pattern in (("golden-games", "smoke_*.json"), ("reference-games", "square8_2p_seed000[12].json.gz"),
                          ("contract-vectors", "*.vectors.json")):
        (root / kind).mkdir(parents=True)
        for f in (CONFORMANCE / kind).glob(pattern):
            shutil.copy(f, root / kind / f.name)
    assert main(["rules", "conformance", "--shared", str(tmp_path), "--json", "--workers", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["golden-games"]["passed"] == 1 and report["golden-games"]["failed"] == 0
    assert report["reference-games"]["passed"] == 2 and report["reference-games"]["failed"] == 0
    assert report["contract-vectors"]["hold"] + report["contract-vectors"]["differ"] == 90
    # A game that no longer replays makes the run fail and is named.
    rec = json.loads(gzip.decompress((root / "reference-games" / "square8_2p_seed0001.json.gz").read_bytes()))
    rec["steps"][3]["move"]["player"] = 2
    (root / "reference-games" / "square8_2p_seed0001.json.gz").write_bytes(gzip.compress(json.dumps(rec).encode()))
    assert main(["rules", "conformance", "--shared", str(tmp_path), "--workers", "1"]) == 1
    assert "square8_2p_seed0001" in capsys.readouterr().err
    assert main(["rules", "conformance", "--shared", str(tmp_path / "nowhere")]) == 2


def _actions(parser, path):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                yield from _actions(sub, path + [name])
        elif not isinstance(a, argparse._HelpAction):
            yield " ".join(path), a


def test_every_option_of_every_command_has_help():
    from ringrift_ml.cli import build_parser

    missing = [(cmd, a.option_strings or [a.dest]) for cmd, a in _actions(build_parser(), ["ringrift"]) if not a.help]
    assert missing == []
    # One spelling of the player count: --num-players wherever a command takes a count.
    counts = {cmd for cmd, a in _actions(build_parser(), ["ringrift"]) if "--num-players" in a.option_strings}
    assert {"ringrift rules selfplay", "ringrift arena"} <= counts
    assert not [cmd for cmd, a in _actions(build_parser(), ["ringrift"])
                if "--players" in a.option_strings and a.type is int]


def test_players_help_lists_every_engine_of_the_factory(capsys):
    from ringrift_ml.ai.factory import ENGINE_TABLE, ENGINES, NET_ENGINES, NNUE_ENGINES
    from ringrift_ml.cli import main

    assert [e for e, *_ in ENGINE_TABLE] and {e for e, *_ in ENGINE_TABLE} == set(ENGINES + NET_ENGINES + NNUE_ENGINES)
    for cmd in (["selfplay", "--help"], ["arena", "--help"]):
        with pytest.raises(SystemExit):
            main(cmd)
        text = " ".join(capsys.readouterr().out.split())
        for engine, form, what, budget in ENGINE_TABLE:
            assert f"{form} (" in text, (cmd, form)
            if budget:
                assert f"N {budget}" in text
    assert main(["selfplay", "--board", "square8", "--players", "2", "--games", "1", "--no-progress"]) == 2
    assert "the player count is the number of specs" in capsys.readouterr().err


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    from ringrift_ml import cli

    assert main(["lake", "sql", "--storage", str(tmp_path), "SELECT nonsense FROM lake.model_registry"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nonsense" in err and "Traceback" not in err and len(err.splitlines()) <= 2
    # An unexpected failure inside a command: one line, or the traceback with --debug.
    monkeypatch.setattr(cli, "_nnue_info", lambda args: (_ for _ in ()).throw(RuntimeError("boom")))
    assert main(["nnue", "info", "x"]) == 1
    assert capsys.readouterr().err.strip() == "error: RuntimeError: boom (ringrift --debug ... shows the traceback)"
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "nnue", "info", "x"])


def test_arena_sets_its_torch_threads_before_the_games(monkeypatch, capsys):
    """One torch thread by default (torch's own default oversubscribes a shared
    machine); 0 leaves torch alone; a negative count is refused with the field named."""
    import torch

    from ringrift_ml.cli import main

    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    base = ["arena", "--board", "square8", "--players", "random,heuristic", "--games", "2", "--no-progress", "--json"]
    assert main(base) == 0
    assert calls == [1]
    assert main(base + ["--threads", "3"]) == 0
    assert calls == [1, 3]
    assert main(base + ["--threads", "0"]) == 0
    assert calls == [1, 3]
    capsys.readouterr()
    assert main(base + ["--threads", "-1"]) == 2
    assert "--threads must be >= 0" in capsys.readouterr().err and calls == [1, 3]
