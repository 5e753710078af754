"""Selfplay: records replay, policies line up with moves, runs are reproducible."""

import json

import pytest

from ringrift_ml.cli import main
from ringrift_ml.rules.records import replay_record
from ringrift_ml.selfplay import SelfplayConfig, TemperatureSchedule, parse_spec, run_selfplay


def test_records_replay_and_carry_policies(tmp_path):
    cfg = SelfplayConfig(board="square8", players=("mcts:24", "heuristic"), games=2, seed=3,
                         temperature=TemperatureSchedule(opening_moves=4))
    out = tmp_path / "g.jsonl"
    recs = run_selfplay(cfg, out, progress=False)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines == recs
    for rec in recs:
        assert replay_record(rec).ok
        assert len(rec["policy"]) == len(rec["moves"])
        searched = [p for p in rec["policy"] if p]
        assert searched and all(abs(sum(v for _, v in p) - 1) < 1e-4 for p in searched)
        # The move played at a searched decision is one of the searched moves.
        i = next(k for k, p in enumerate(rec["policy"]) if p)
        assert rec["moves"][i] in [m for m, _ in rec["policy"][i]]


def test_records_stream_to_the_file_in_game_order_without_being_kept(tmp_path, monkeypatch):
    """Without keeping the records the file holds the same games in game order, though
    the games end out of order (several in flight), and a game that comes back twice (a
    retried task) is written once; only games waiting for an earlier one are held."""
    import ringrift_ml.selfplay as sp

    cfg = SelfplayConfig(board="square8", players=("random", "heuristic"), games=7, seed=40, batch_games=4)
    kept = run_selfplay(cfg, tmp_path / "a.jsonl", progress=False)
    arrival = []
    real = sp.play_batch

    def shuffled(cfg_, indices, on_record):
        # Every game comes back, in reverse order, the fourth twice.
        recs = []
        real(cfg_, indices, on_record=recs.append)
        for rec in reversed(recs + [recs[3]]):
            arrival.append(rec["seed"])
            on_record(rec)

    monkeypatch.setattr(sp, "play_batch", shuffled)
    seen = []
    assert run_selfplay(cfg, tmp_path / "b.jsonl", progress=False, keep_records=False,
                        on_game=lambda n, rec: seen.append(n)) is None
    assert arrival[0] != 40 and seen == list(range(1, 8))  # out of order; the repeat is not counted
    lines = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert lines == kept and [r["seed"] for r in lines] == list(range(40, 47))
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_selfplay_command_streams_its_file_and_summarises_it(tmp_path, capsys):
    out = tmp_path / "g.jsonl"
    assert main(["selfplay", "--board", "square8", "--players", "random,heuristic", "--games", "3", "--seed", "5",
                 "--out", str(out), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert summary["games"] == len(lines) == 3 and summary["out"] == str(out)
    assert summary["mean_length"] == round(sum(r["length"] for r in lines) / 3, 1)
    assert sum(summary["victory_reasons"].values()) == 3


def test_reproducible_and_parallel_equals_serial(tmp_path):
    base = dict(board="hex8", players=("random", "random", "random"), games=3, seed=11)
    a = run_selfplay(SelfplayConfig(**base), progress=False)
    b = run_selfplay(SelfplayConfig(**base, workers=2), progress=False)
    assert a == b


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(board="chess", players=("random", "random")), "board"),
        (dict(board="square8", players=("random",)), "players"),
        (dict(board="square8", players=("random", "alphazero")), "unknown engine"),
        (dict(board="square8", players=("random", "mcts:x")), "integer"),
        (dict(board="square8", players=("random", "random"), games=0), "positive"),
        (dict(board="square8", players=("random", "random"), dirichlet_alpha=-0.3), "dirichlet_alpha"),
        (dict(board="square8", players=("random", "random"), dirichlet_alpha=float("nan")), "dirichlet_alpha"),
    ],
)
def test_bad_config(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        SelfplayConfig(**kwargs)


def test_gumbel_selfplay_records_improved_policy():
    rec = run_selfplay(SelfplayConfig(board="hex8", players=("gumbel:16", "random"), games=1, seed=2), progress=False)[0]
    assert replay_record(rec).ok
    pol = [p for p in rec["policy"] if p]
    assert pol and all(abs(sum(v for _, v in p) - 1) < 1e-4 for p in pol)


def test_spec_defaults():
    assert parse_spec("mcts") == ("mcts", 200) and parse_spec("minimax:50") == ("minimax", 50)


def test_cli_selfplay_and_arena(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    assert main(["selfplay", "--board", "hex8", "--players", "heuristic,random", "--games", "2",
                 "--out", str(out), "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["games"] == 2 and out.exists()
    assert main(["arena", "--board", "square8", "--players", "random,heuristic", "--games", "4", "--no-progress",
                 "--json"]) == 0
    duel = json.loads(capsys.readouterr().out)
    assert duel["a"] == "random" and duel["b"] == "heuristic" and duel["games"] == 4
    assert duel["wins"] + duel["draws"] + duel["losses"] == 4 and 0 <= duel["ci95"][0] <= duel["score"] <= duel["ci95"][1]
    assert main(["arena", "--board", "square8", "--players", "random,heuristic,mcts:8", "--games", "2",
                 "--no-progress", "--json", "--concurrency", "3"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["anchor"] == "random" and {r["player"] for r in table["elo"]} == {"random", "heuristic", "mcts:8"}
    assert all(r["ci95"][0] <= r["elo"] <= r["ci95"][1] for r in table["elo"])
    assert main(["arena", "--board", "square8", "--players", "random,bogus", "--no-progress"]) == 2


def test_game_job_replays_its_index_and_continues_a_prefix():
    """``game_job`` with the run's seats plays game ``index`` of the run exactly as the run
    does, and with a prefix of that game's moves starts where the prefix left it."""
    import numpy as np

    from ringrift_ml.ai.games import play_games
    from ringrift_ml.selfplay import game_job, make_seats, play_batch

    cfg = SelfplayConfig(board="square8", players=("mcts:8", "mcts:8"), games=1, seed=5,
                         temperature=TemperatureSchedule(opening_moves=4))
    seats = make_seats(cfg)
    rec = play_batch(cfg, [0], seats=seats)[0]
    whole = play_games([game_job(cfg, 0, seats)])[0]
    assert len(whole.moves) == len(rec["moves"]) and whole.game.is_over
    k = 20
    cont = play_games([game_job(cfg, 0, seats, prefix=whole.moves[:k])])[0]
    assert all(np.array_equal(a, b) for a, b in zip(cont.moves[:k], whole.moves[:k]))
    assert cont.results[:k] == [None] * k and cont.game.is_over and len(cont.moves) > k


def test_game_ids_name_a_network_by_its_content_not_its_path(tmp_path):
    """The same network at two paths plays the same games under the same ids (ids
    decide the training's held-out split, so a lake under another root must not train
    differently); the records keep each path for provenance; another network, other ids."""
    import shutil

    import torch

    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(0)
    a = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "a" / "model.pt", {}, {})
    b = tmp_path / "b" / "model.pt"
    b.parent.mkdir()
    shutil.copytree(a.parent, b.parent, dirs_exist_ok=True)
    torch.manual_seed(1)
    c = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "c" / "model.pt", {}, {})

    def play(path):
        return run_selfplay(SelfplayConfig(board="square8", players=(f"nn:{path}:4",) * 2, games=2, seed=5,
                                           max_moves=40), progress=False)

    ra, rb, rc = play(a), play(b), play(c)
    assert [r["gameId"] for r in ra] == [r["gameId"] for r in rb]
    assert [r["moves"] for r in ra] == [r["moves"] for r in rb]
    assert str(a) in ra[0]["generatorConfig"]["players"][0] and str(b) in rb[0]["generatorConfig"]["players"][0]
    assert not {r["gameId"] for r in ra} & {r["gameId"] for r in rc}
