"""Nothing read from the storage root is unpickled: checkpoints are weights-only
tensors plus JSON metadata, and CMA-ES resumes by replaying a JSON log."""

import builtins
import hashlib
import io
import json
import pickle
import types
from dataclasses import asdict

import numpy as np
import pytest
import torch

from ringrift_ml import tuning
from ringrift_ml.ai.heuristic import packaged_weights_path
from ringrift_ml.nn.checkpoint import FORMAT, load_net, metadata_path, read_net, save_net
from ringrift_ml.nn.features import FEATURES
from ringrift_ml.nn.net import RingNet, net_config
from ringrift_ml.tuning import TuneConfig, tune


class _Payload:
    """Unpickling this creates ``marker``: proof that a load ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.exec, (f"open({self.marker!r}, 'w').write('pwned')",)


def _net(seed=0, **overrides):
    torch.manual_seed(seed)
    return RingNet(net_config("hex8", "tiny", **overrides))


def _extra():
    return {"board": "hex8", "players": 2, "samples": 40, "held_out_positions": 9, "train_seconds": 0.5,
            "history": [{"epoch": 0, "train_loss": 2.5, "val_loss": 2.6}, {"epoch": 1, "train_loss": 1.25}]}


def _rewrite_meta(path, **changes):
    side = metadata_path(path)
    doc = json.loads(side.read_text())
    doc.update(changes)
    side.write_text(json.dumps(doc))


# -- checkpoints ---------------------------------------------------------------------------------

def test_checkpoint_round_trip(tmp_path):
    net, train_cfg = _net(), {"epochs": 3, "lr": 0.001}
    path = save_net(net, tmp_path / "candidate.pt", train_cfg, _extra())
    # Two files and no temporaries left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.json", "candidate.pt"]
    net2, meta = load_net(path)
    assert meta == {"kind": "ringnet", "features": FEATURES.identity, "net_config": net.cfg,
                    "train_config": train_cfg, **_extra()}
    a, b = net.state_dict(), net2.state_dict()
    assert list(a) == list(b)
    assert all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)
    assert not net2.training
    # The .pt is a plain tensor dict that torch's restricted loader reads on its own ...
    plain = torch.load(path, map_location="cpu", weights_only=True)
    assert type(plain) is dict and all(isinstance(v, torch.Tensor) for v in plain.values())
    # ... and the metadata is JSON with the format, the version and the weights' digest.
    doc = json.loads(metadata_path(path).read_text())
    assert doc["format"] == FORMAT and doc["format_version"] == 1
    assert doc["weights"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # Saving the same weights again gives the same bytes (so the same file version).
    before = path.read_bytes()
    save_net(net, path, train_cfg, _extra())
    assert path.read_bytes() == before


@pytest.mark.parametrize("changes, reason", [
    ({"format_version": 2}, "format_version 2 is not supported"),
    ({"format_version": "1"}, "format_version '1' is not supported"),
    ({"format_version": None}, "format_version None is not supported"),
    ({"format": "something/else"}, "declares format 'something/else'"),
    ({"format": None}, "declares format None"),
    ({"kind": "mlp"}, "kind 'mlp' is not 'ringnet'"),
    ({"features": "spatial-v0-000000000000"}, "reads features 'spatial-v0-000000000000'"),
])
def test_unknown_format_or_version_is_refused(tmp_path, changes, reason):
    path = save_net(_net(), tmp_path / "m.pt", {}, {})
    _rewrite_meta(path, **changes)
    with pytest.raises(ValueError, match=reason) as e:
        load_net(path)
    assert str(path) in str(e.value)


def test_missing_or_broken_metadata_is_refused(tmp_path):
    path = save_net(_net(), tmp_path / "m.pt", {}, {})
    metadata_path(path).write_text("{not json")
    with pytest.raises(ValueError, match=r"m\.json is not JSON"):
        load_net(path)
    metadata_path(path).unlink()
    with pytest.raises(ValueError, match=r"m\.json is missing, so the format is unknown"):
        load_net(path)


def test_tensors_must_match_the_declared_net_config(tmp_path):
    path = save_net(_net(), tmp_path / "m.pt", {}, {})
    cfg = json.loads(metadata_path(path).read_text())["net_config"]
    _rewrite_meta(path, net_config={**cfg, "channels": 32})
    with pytest.raises(ValueError, match=r"m\.pt: the tensors do not match the declared net_config"):
        load_net(path)
    _rewrite_meta(path, net_config={**cfg, "blocks": 3})
    with pytest.raises(ValueError, match=r"missing or misshapen \[.*blocks\.2\."):
        load_net(path)
    for bad in ({**cfg, "channels": "8"}, {**cfg, "channels": 2}, {**cfg, "dropout": 0.1}, None):
        _rewrite_meta(path, net_config=bad)
        with pytest.raises(ValueError, match="net_config is not a network config"):
            load_net(path)


def test_weights_file_must_be_the_one_beside_it(tmp_path):
    path = save_net(_net(), tmp_path / "m.pt", {}, {})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("../m.pt", "/etc/passwd", "other.pt", ""):
        _rewrite_meta(path, weights={"file": name, "sha256": digest})
        with pytest.raises(ValueError, match="not one beside it"):
            load_net(path)


def test_torn_pair_is_refused(tmp_path):
    """New weights with the previous file's metadata (a crash between the two renames)."""
    p1 = save_net(_net(seed=1), tmp_path / "a.pt", {}, {})
    p2 = save_net(_net(seed=2), tmp_path / "b.pt", {}, {})
    p1.write_bytes(p2.read_bytes())
    with pytest.raises(ValueError, match=r"a\.pt: the weights do not have the sha256 recorded in a\.json"):
        load_net(p1)


def test_reserved_or_non_json_metadata_is_refused_on_save(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_net(_net(), tmp_path / "m.pt", {}, {"format": "x"})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_net(_net(), tmp_path / "m.pt", {}, {"when": object()})
    assert not list(tmp_path.iterdir())
    # numpy scalars are stored as numbers
    path = save_net(_net(), tmp_path / "m.pt", {}, {"n": np.int64(3), "x": np.float32(0.5)})
    _, meta = load_net(path)
    assert meta["n"] == 3 and meta["x"] == 0.5


def _crafted_files(marker):
    """Weights files whose unpickling would create ``marker``: a bare pickle, and a
    torch zip archive with the payload inside a state_dict."""
    raw = pickle.dumps({"stem.weight": _Payload(marker)}, protocol=2)
    buf = io.BytesIO()
    torch.save({"stem.weight": _Payload(marker)}, buf)
    return {"pickle": raw, "torch-zip": buf.getvalue()}


@pytest.mark.parametrize("kind", ["pickle", "torch-zip"])
def test_crafted_checkpoint_is_refused_without_running_code(tmp_path, kind):
    marker = tmp_path / "marker"
    crafted = _crafted_files(marker)[kind]
    # Sanity: the payload does run code when unpickled without restrictions.
    if kind == "pickle":
        pickle.loads(crafted)
        assert marker.exists()
        marker.unlink()
    mdir = tmp_path / "models" / "hex8_2p"
    path = save_net(_net(), mdir / "candidate.pt", {}, {"history": [{"train_loss": 1.0}]})

    # 1. The attacker controls both files: the digest matches, the restricted loader refuses.
    path.write_bytes(crafted)
    _rewrite_meta(path, weights={"file": path.name, "sha256": hashlib.sha256(crafted).hexdigest()})
    with pytest.raises(ValueError, match=r"candidate\.pt: not loaded with weights_only "
                                         r"\((UnpicklingError|RuntimeError)") as e:
        load_net(path)
    # torch's advice to load unsafely is not passed on
    assert "weights_only` set to `False`" not in str(e.value)
    with pytest.raises(ValueError, match="not loaded with weights_only"):
        read_net(path)
    assert not marker.exists()

    # 2. Only the weights replaced: refused on the digest before anything is deserialised.
    save_net(_net(), path, {}, {})
    path.write_bytes(crafted)
    with pytest.raises(ValueError, match="do not have the sha256"):
        load_net(path)
    assert not marker.exists()

    # 3. An old-style single-file checkpoint (no JSON metadata): never opened.
    metadata_path(path).unlink()
    with pytest.raises(ValueError, match="is missing, so the format is unknown"):
        load_net(path)
    assert not marker.exists()


def test_sanity_check_uses_the_safe_loader(tmp_path):
    from ringrift_assets.model import candidate_model_sanity
    from ringrift_assets.resources import LakeResource
    check = candidate_model_sanity.node_def.compute_fn.decorated_fn
    ctx, res = types.SimpleNamespace(partition_key="hex8|2"), LakeResource(root=str(tmp_path))
    held = {"loss": 1.0, "core_loss": 1.0, "baseline_loss": 2.0, "policy_ce": 0.5, "policy_ce_uniform": 1.0,
            "value_mse": 0.5, "value_mse_zero": 1.0}
    hist = [{"epoch": 0, "kind": "ema", "heldout": {**held, "loss": 1.5}}, {"epoch": 1, "kind": "ema", "heldout": held}]
    from ringrift_ml.lake.layout import Layout, Partition

    path = save_net(RingNet(net_config("hex8", "tiny")), Layout(tmp_path).candidate_of(Partition("hex8", 2), 0), {},
                    {"history": hist, "best_epoch": 1, "heldout": held})
    assert check(ctx, lake_root=res).passed
    marker = tmp_path / "marker"
    crafted = _crafted_files(marker)["pickle"]
    path.write_bytes(crafted)
    _rewrite_meta(path, weights={"file": path.name, "sha256": hashlib.sha256(crafted).hexdigest()})
    r = check(ctx, lake_root=res)
    assert not r.passed and "not loaded with weights_only" in r.description
    assert not marker.exists()


def test_sanity_check_fails_a_model_that_is_not_the_best_or_loses_to_the_baseline(tmp_path):
    from ringrift_assets.model import judge_checkpoint

    good = {"loss": 1.0, "core_loss": 1.0, "baseline_loss": 2.0}
    hist = [{"epoch": 0, "kind": "ema", "heldout": {**good, "loss": 0.9}}, {"epoch": 1, "kind": "ema", "heldout": good}]
    problems = judge_checkpoint({"history": hist, "best_epoch": 1, "heldout": good})
    assert len(problems) == 2 and "not the best held-out one (0" in problems[0]
    worse = {"loss": 1.0, "core_loss": 2.5, "baseline_loss": 2.0}
    problems = judge_checkpoint({"history": [{"epoch": 0, "heldout": worse}], "best_epoch": 0, "heldout": worse})
    assert problems == ["held-out policy CE + value MSE 2.5000 is not below the trivial baseline's 2.0000 "
                        "(uniform policy, value 0)"]
    assert judge_checkpoint({"history": hist[1:], "best_epoch": 1, "heldout": good}) == []


# -- CMA-ES state --------------------------------------------------------------------------------

SMALL = dict(board="hex8", players=2, popsize=2, games_per_eval=1, opponents=("random",))


@pytest.fixture
def no_pickle(monkeypatch):
    """Any use of pickle while this is active fails the test."""
    def boom(*a, **k):
        raise AssertionError("pickle was called")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, boom)


def test_tuning_never_imports_pickle():
    assert not hasattr(tuning, "pickle")


def test_legacy_pickled_state_is_refused_without_running_code(tmp_path, no_pickle):
    marker = tmp_path / "marker"
    (tmp_path / "cma_hex8_2p.pkl").write_bytes(pickle.dumps({"es": _Payload(marker)}))
    with pytest.raises(ValueError, match=r"cma_hex8_2p\.pkl: optimiser state pickled by an earlier "
                                         r"version; it is never loaded"):
        tune(TuneConfig(**SMALL, generations=1), tmp_path, progress=False, weights=packaged_weights_path())
    assert not marker.exists()
    assert not (tmp_path / "cma_hex8_2p_state.json").exists()


def test_crafted_state_file_is_refused_without_running_code(tmp_path, no_pickle):
    marker = tmp_path / "marker"
    state = tmp_path / "cma_hex8_2p_state.json"
    state.write_bytes(pickle.dumps({"es": _Payload(marker)}))
    with pytest.raises(ValueError, match=r"cma_hex8_2p_state\.json: not a JSON tuning state"):
        tune(TuneConfig(**SMALL, generations=1), tmp_path, progress=False, weights=packaged_weights_path())
    assert not marker.exists()


def test_state_json_cannot_smuggle_code_into_cma(tmp_path):
    """cma evaluates string options and a string x0; the log's values never reach it
    unless they are plain numbers and the options are the configuration's own."""
    cfg = TuneConfig(**SMALL, generations=1)
    tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
    state = tmp_path / "cma_hex8_2p_state.json"
    good = json.loads(state.read_text())
    marker = tmp_path / "marker"
    code = f"open({str(marker)!r}, 'w').write('pwned') or 2"
    for bad, reason in [({"options": {**good["options"], "popsize": code}}, "options"),
                        ({"x0": code}, "x0 is not a list"),
                        ({"x0": [code] + good["x0"][1:]}, "x0 is not a list"),
                        ({"x0": [10 ** 400] + good["x0"][1:]}, "x0 is not a list"),
                        ({"format_version": 7}, "format_version 7 is not supported"),
                        ({"format": "pickle"}, "format 'pickle'")]:
        state.write_text(json.dumps({**good, **bad}))
        with pytest.raises(ValueError, match=reason):
            tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
        assert not marker.exists()


def _flip(fitness):
    """Reverse the ranking of the first two fitness values (ties break by index)."""
    fitness[0] = fitness[1] + 1.0 if fitness[0] <= fitness[1] else fitness[1] - 1.0


def test_tampered_log_is_refused(tmp_path):
    cfg = TuneConfig(**SMALL, generations=2)
    tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
    state = tmp_path / "cma_hex8_2p_state.json"
    good = json.loads(state.read_text())
    doc = json.loads(state.read_text())
    doc["generations"][1]["candidates"][0][0] += 1e-9
    state.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"replaying generation 1, cma asked candidates 1e-09 away from "
                                         r"the logged ones \(tolerance 1e-12\): the log does not match "
                                         r"this cma version"):
        tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
    # CMA-ES only uses the ranking of the fitness values, so a tampered value is
    # visible (and matters) when it changes the ranking.
    doc = json.loads(json.dumps(good))
    _flip(doc["generations"][0]["fitness"])  # changes the update, hence the next generation's candidates
    state.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="replaying generation 1"):
        tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
    doc = json.loads(json.dumps(good))
    _flip(doc["generations"][1]["fitness"])  # the last update: caught by the saved mean / step size
    state.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="mean, step size or random state differ"):
        tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())
    state.write_text(json.dumps(good))
    assert tune(cfg, tmp_path, progress=False, weights=packaged_weights_path())["generations"] == 2


def test_resume_after_interruption_is_exact(tmp_path, monkeypatch):
    cfg = TuneConfig(**SMALL, generations=4, seed=3)
    w = packaged_weights_path()
    caller_rng = np.random.get_state()
    full = tune(cfg, tmp_path / "full", progress=False, weights=w)
    # The caller's global numpy generator is neither consumed nor reseeded by cma.
    after = np.random.get_state()
    assert after[0] == caller_rng[0] and after[2:] == caller_rng[2:]
    assert np.array_equal(after[1], caller_rng[1])

    # Stop in the middle of generation 2 (after generations 0 and 1 are saved).
    real, calls = tuning.score_weights, []

    def interrupted(*a, **k):
        if len(calls) == 2 * cfg.popsize + 1:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(tuning, "score_weights", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(cfg, tmp_path / "resumed", progress=False, weights=w)
    monkeypatch.setattr(tuning, "score_weights", real)
    state = json.loads((tmp_path / "resumed" / "cma_hex8_2p_state.json").read_text())
    assert len(state["generations"]) == 2

    np.random.seed(12345)
    np.random.standard_normal(17)  # whatever happens to the global generator in between does not matter
    resumed = tune(cfg, tmp_path / "resumed", progress=False, weights=w)
    assert resumed == full  # weights, mean weights, best score and history
    logs = [json.loads((tmp_path / d / "cma_hex8_2p_state.json").read_text()) for d in ("full", "resumed")]
    for log in logs:
        for g in log["generations"]:
            g.pop("time")
    assert logs[0] == logs[1]  # every candidate, fitness value and the final optimiser state

    # Continuing a finished run to more generations also matches an uninterrupted longer run.
    longer = TuneConfig(**{**asdict(cfg), "generations": 5})
    assert tune(longer, tmp_path / "resumed", progress=False, weights=w) == \
        tune(longer, tmp_path / "longer", progress=False, weights=w)
