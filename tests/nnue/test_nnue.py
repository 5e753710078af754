"""The NNUE: incremental accumulator against the full refresh, quantised against float,
the compiled float path against PyTorch, its file, its players and the distillation."""

import json
from pathlib import Path

import numpy as np
import pytest

from ringrift_ml.nnue import FEATURE_SET, NNUEEvaluator, NNUEWeights, load_nnue
from ringrift_ml.ai import _k_nnue as K
from ringrift_ml.nnue.features import CODES, N_GLOBALS, n_features
from ringrift_ml.nnue.model import board_cells
from ringrift_ml.rules import BOARD_TYPES, new_game
from ringrift_ml.rules.fast import FastGame


def random_weights(board, seed=0, hidden=32, l1=8, l2=8, pairwise=False) -> NNUEWeights:
    rng = np.random.default_rng(seed)
    inputs = hidden // 2 if pairwise else hidden
    return NNUEWeights(board, W1=rng.normal(0, 0.05, (n_features(board_cells(board)), hidden)),
                       b1=rng.normal(0.3 if not pairwise else 0.6, 0.1, hidden),
                       L1w=rng.normal(0, 0.3, (inputs + N_GLOBALS, l1)), L1b=rng.normal(0, 0.1, l1),
                       L2w=rng.normal(0, 0.3, (l1, l2)), L2b=rng.normal(0, 0.1, l2),
                       Ow=rng.normal(0, 0.5, l2), Ob=0.05, pairwise=pairwise)


def random_games(board, n, games, seed, max_moves):
    """Every position of ``games`` uniformly random games (capped at ``max_moves``)."""
    rng = np.random.default_rng(seed)
    for _ in range(games):
        g = FastGame(new_game(board, n))
        for _ in range(max_moves):
            if g.is_over:
                break
            yield g
            rows = g.legal()
            g.apply(rows[rng.integers(len(rows))])


def _check_incremental(board, n, games, max_moves, seed=0):
    w = random_weights(board, seed)
    q = w.quantised()
    ncells = board_cells(board)
    hidden = w.hidden
    inc = {"q": (np.zeros((4, hidden), np.int16), np.full((4, ncells), -1, np.int64)),
           "f": (np.zeros((4, hidden), np.float32), np.full((4, ncells), -1, np.int64))}
    seat = (np.zeros((4, hidden), np.int16), np.full((4, ncells), -1, np.int64))
    rng = np.random.default_rng(seed + 1)
    first = True
    positions = changed = 0
    for g in random_games(board, n, games, seed, max_moves):
        for key, W1, b1 in (("q", q["W1q"], q["b1q"]), ("f", w.W1, w.b1)):
            acc, codes = inc[key]
            if first:
                K.refresh(g.S, ncells, W1, b1, acc, codes)
            else:
                changed += K.update(g.S, ncells, W1, acc, codes)
            ref_acc, ref_codes = np.zeros_like(acc), np.full_like(codes, -1)
            K.refresh(g.S, ncells, W1, b1, ref_acc, ref_codes)
            assert np.array_equal(codes[:n], ref_codes[:n])
            if key == "q":
                assert np.array_equal(acc[:n], ref_acc[:n])  # integers: exactly
            else:
                assert np.allclose(acc[:n], ref_acc[:n], atol=1e-4)
        # One perspective at a time (``update_seat``, what a search's leaf asks): the row
        # asked for is exact, whichever rows were brought up to date before it.
        p = int(rng.integers(1, n + 1))
        acc, codes = seat
        if first:
            K.refresh(g.S, ncells, q["W1q"], q["b1q"], acc, codes)
        else:
            K.update_seat(g.S, ncells, q["W1q"], acc, codes, p)
        ref_acc, ref_codes = np.zeros_like(acc), np.full_like(codes, -1)
        K.refresh(g.S, ncells, q["W1q"], q["b1q"], ref_acc, ref_codes)
        assert np.array_equal(acc[p - 1], ref_acc[p - 1]) and np.array_equal(codes[p - 1], ref_codes[p - 1])
        first = False
        positions += 1
    return positions, changed


@pytest.mark.parametrize("board", BOARD_TYPES)
@pytest.mark.parametrize("n", [2, 3, 4])
def test_incremental_accumulator_equals_the_full_refresh(board, n):
    """Every position of random games of every configuration (a few short games here;
    the slow test below plays 1,000 whole games)."""
    positions, changed = _check_incremental(board, n, games=2, max_moves=120, seed=n)
    assert positions > 100
    # Incremental: far fewer (cell, perspective) changes than cells times perspectives.
    assert changed < positions * board_cells(board) * n / 4


@pytest.mark.slow
def test_incremental_accumulator_over_a_thousand_random_games():
    configs = [(b, n) for b in BOARD_TYPES for n in (2, 3, 4)]
    total = 0
    for i, (board, n) in enumerate(configs):
        games = 1000 // len(configs) + (1 if i < 1000 % len(configs) else 0)
        positions, _ = _check_incremental(board, n, games=games, max_moves=20_000, seed=100 + i)
        total += positions
    assert total > 100_000


@pytest.mark.parametrize("hidden,l1,l2,pair", [(128, 32, 32, 0), (100, 30, 17, 0), (8, 3, 1, 0), (128, 32, 32, 1),
                                               (100, 30, 17, 1)])
def test_lane_head_equals_the_integer_head_bit_for_bit(hidden, l1, l2, pair):
    """The search's head sums int8 weights in float32 lanes (``K.lane_layout``); at the
    extremes of every range (inputs clipped at QA, weights at +-127) and with ordinary
    weights, at sizes that need padding, with the accumulator as inputs or its halves'
    products (``pair``), it must give the integer reference's value exactly."""
    rng = np.random.default_rng(hidden + l1 + pair)
    nin = (hidden // 2 if pair else hidden) + N_GLOBALS
    x, h1, h2 = np.zeros(nin, np.int16), np.zeros(l1, np.int32), np.zeros(l2, np.int32)
    extremes = lambda shape: rng.choice(np.array([-127, 127, -1, 0, 5], np.int8), size=shape)  # noqa: E731
    ordinary = lambda shape: np.clip(rng.normal(0, 12, shape), -127, 127).astype(np.int8)  # noqa: E731
    for weights in (extremes, ordinary):
        L1w, L2w, Ow = weights((nin, l1)), weights((l1, l2)), weights(l2)
        L1b = rng.integers(-30_000, 30_000, l1).astype(np.int32)
        L2b = rng.integers(-3_000, 3_000, l2).astype(np.int32)
        # Each output's own power-of-two divisor: at the extremes from the smallest to the
        # largest, with ordinary weights small enough that the outputs still vary.
        top = 15 if weights is extremes else 9
        L1d = (2 ** rng.integers(6, top, l1)).astype(np.int32)
        L2d = (2 ** rng.integers(6, top, l2)).astype(np.int32)
        if weights is extremes:
            L1d[0], L2d[-1] = K.QB, K.QB_MAX
        Od = np.int64(2 ** rng.integers(6, top))
        lanes = K.lane_layout(L1w, L1b, L1d, L2w, L2b, L2d, Ow)
        values = []
        for t in range(300):
            acc = rng.integers(-60, 200, hidden).astype(np.int16)
            if t % 4 == 0:
                acc[:] = K.QA  # every input at its largest: the biggest sums there are
            g = (rng.random(N_GLOBALS) * (rng.random(N_GLOBALS) < 0.6)).astype(np.float32)
            ref = K.head_quantised(acc, pair, g, L1w, L1b, L1d, L2w, L2b, L2d, Ow, np.int32(-33), Od, x, h1, h2)
            assert K.head_quantised_lanes(acc, pair, g, *lanes[:7], np.int32(-33), Od, *lanes[7:]) == ref
            values.append(ref)
        if weights is ordinary:
            assert len(set(values)) > 3  # the cases differ: not one saturated value
    with pytest.raises(ValueError, match=r"L2 divisors must be powers of two, got \[3, 64\]"):
        K.lane_layout(np.zeros((4, 2), np.int8), np.zeros(2, np.int32), np.full(2, 64, np.int32),
                      np.zeros((2, 2), np.int8), np.zeros(2, np.int32), np.array([64, 3], np.int32), np.zeros(2, np.int8))
    with pytest.raises(ValueError, match=f"up to {K.EXACT_INPUTS} inputs"):
        K.lane_layout(np.zeros((K.EXACT_INPUTS + 1, 4), np.int8), np.zeros(4, np.int32), np.ones(4, np.int32),
                      np.zeros((4, 4), np.int8), np.zeros(4, np.int32), np.ones(4, np.int32), np.zeros(4, np.int8))


def test_each_head_output_gets_its_own_power_of_two_scale():
    """A head column of small weights is quantised in finer units than one of large
    weights (its own power-of-two divisor), every int8 weight stays in range, and the
    dequantised weights and biases are within half a unit of the float ones."""
    from ringrift_ml.nnue.model import head_divisors

    w = random_weights("square8", 3)
    w.L1w[:, 0] *= 0.02  # a column of small weights
    w.L1w[:, 1] = 0.0  # a dead column
    w.L1w[0, 2] = 1.9  # a column that needs the coarsest scale
    d = head_divisors(w.L1w)
    assert d[2] == K.QB and d[1] == K.QB_MAX and d[0] >= 32 * K.QB
    assert np.all(np.abs(w.L1w).max(axis=0) * d <= 127)
    assert np.all(d & (d - 1) == 0)  # powers of two
    q = w.quantised()
    for key, wf, bf in (("L1", w.L1w, w.L1b), ("L2", w.L2w, w.L2b)):
        dq = q[key + "dq"]
        assert np.array_equal(dq, head_divisors(wf)) and np.abs(q[key + "wq"]).max() <= 127
        assert np.all(np.abs(q[key + "wq"] / dq - wf) <= 0.5 / dq + 1e-9)
        # The bias carries half a divisor more, which turns the division's floor into rounding.
        assert np.all(np.abs((q[key + "bq"] - dq // 2) / (K.QA * dq) - bf) <= 0.5 / (K.QA * dq) + 1e-9)
    assert abs(q["Obq"] / (K.QA * q["Odq"]) - w.Ob) <= 0.5 / (K.QA * q["Odq"])


def test_small_head_weights_quantise_closer_with_their_own_scales():
    """A head of small weights (as trained heads mostly are), on random accumulators: the
    integer head with each output's own divisor follows the float head at least twice as
    closely as the same head quantised with one scale of ``1 / QB`` for every weight."""
    rng = np.random.default_rng(11)
    hidden, l1, l2 = 64, 16, 16
    w = random_weights("square8", 5, hidden=hidden, l1=l1, l2=l2)
    w.L1w = rng.normal(0, 0.03, w.L1w.shape).astype(np.float32)
    w.L1w[0, 0] = 1.5  # one column keeps the coarse scale
    w.L1b = np.full(l1, 0.4, np.float32)
    w.L2w = rng.normal(0, 0.1, w.L2w.shape).astype(np.float32)
    w.L2b = np.full(l2, 0.3, np.float32)
    q = w.quantised()
    one = {k: np.full(n, K.QB, np.int32) for k, n in (("L1", l1), ("L2", l2))}
    single = (np.rint(w.L1w * K.QB).astype(np.int8), np.rint(w.L1b * K.QA * K.QB).astype(np.int32), one["L1"],
              np.rint(w.L2w * K.QB).astype(np.int8), np.rint(w.L2b * K.QA * K.QB).astype(np.int32), one["L2"],
              np.rint(w.Ow * K.QB).astype(np.int8), np.int32(round(w.Ob * K.QA * K.QB)), np.int64(K.QB))
    own = (q["L1wq"], q["L1bq"], q["L1dq"], q["L2wq"], q["L2bq"], q["L2dq"], q["Owq"], q["Obq"], q["Odq"])
    nin = hidden + N_GLOBALS
    xf, h1f, h2f = np.zeros(nin, np.float32), np.zeros(l1, np.float32), np.zeros(l2, np.float32)
    xq, h1q, h2q = np.zeros(nin, np.int16), np.zeros(l1, np.int32), np.zeros(l2, np.int32)
    err = {"own": [], "single": []}
    floats = []
    for _ in range(400):
        acc = rng.uniform(-0.2, 1.2, hidden).astype(np.float32)
        g = rng.random(N_GLOBALS).astype(np.float32)
        f = K.head_float(acc, 0, g, w.L1w, w.L1b, w.L2w, w.L2b, w.Ow, np.float32(w.Ob), xf, h1f, h2f)
        floats.append(f)
        acc_q = np.rint(acc * K.QA).astype(np.int16)
        for key, head in (("own", own), ("single", single)):
            err[key].append(K.head_quantised(acc_q, 0, g, *head, xq, h1q, h2q) - f)
    assert np.std(floats) > 0.05  # the float head varies: the comparison means something
    rms = {k: float(np.sqrt(np.mean(np.square(v)))) for k, v in err.items()}
    assert rms["own"] < 0.5 * rms["single"], rms


@pytest.mark.parametrize("pairwise", [False, True])
def test_evaluator_values_follow_any_position_and_quantised_tracks_float(pairwise):
    w = random_weights("square8", 1, pairwise=pairwise)
    evq, evf = NNUEEvaluator(w), NNUEEvaluator(w, quantised=False)
    vq, vf = [], []
    for g in random_games("square8", 2, 3, 5, 200):
        a, b = evq.values(g), evf.values(g)
        fresh = NNUEEvaluator(w, quantised=False).values(g)  # refreshed from nothing
        assert np.allclose(b, fresh, atol=1e-5) and a.shape == (2,) and np.all(np.abs(a) <= 1)
        vq.append(a)
        vf.append(b)
    vq, vf = np.ravel(vq), np.ravel(vf)
    assert np.corrcoef(vq, vf)[0, 1] > 0.99 and np.abs(vq - vf).max() < 0.15
    # Another player count on the same evaluator: refreshed, not corrupted.
    g3 = FastGame(new_game("square8", 3))
    assert np.allclose(evf.values(g3), NNUEEvaluator(w, quantised=False).values(g3), atol=1e-5)
    with pytest.raises(ValueError, match="plays square8, not hex8"):
        evq.values(FastGame(new_game("hex8", 2)))


def _torch_outputs(net, board, n, spread, seed, moves):
    """``(states, torch values [positions, seats])`` of ``net`` with uniform weights in
    ``[-spread, spread]`` over the positions of two random games."""
    import torch

    from ringrift_ml.distill import samples
    from ringrift_ml.train.nnue import predict

    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-spread, spread)
        net.b1.fill_(0.4)
    states = [g.S.copy() for g in random_games(board, n, 2, seed, moves)]
    data = samples(board, states, np.zeros((len(states), n), np.float32), np.zeros(len(states), np.int64))
    return states, predict(net, data).reshape(-1, n)


@pytest.mark.parametrize("pairwise", [False, True])
def test_torch_net_exports_the_function_the_compiled_path_computes(tmp_path, pairwise):
    pytest.importorskip("torch")
    from ringrift_ml.train.nnue import NNUENet

    net = NNUENet(n_features(board_cells("hex8")), 16, 8, 8, pairwise=pairwise)
    assert net.l1.in_features == (8 if pairwise else 16) + N_GLOBALS
    states, torch_out = _torch_outputs(net, "hex8", 3, 0.2, 9, 80)
    w = net.export("hex8", {"note": "test"})
    assert w.pairwise == pairwise and w.head_inputs == (8 if pairwise else 16)
    from ringrift_ml.distill import nnue_values

    assert np.allclose(nnue_values(w, "hex8", states, quantised=False), torch_out, atol=1e-4)
    # The file keeps the function and the metadata.
    w2 = load_nnue(w.save(tmp_path / "n.npz"))
    assert np.array_equal(w2.W1, w.W1) and w2.meta["note"] == "test" and w2.meta["feature_set"] == FEATURE_SET
    assert w2.pairwise == pairwise and w2.meta["pairwise"] == pairwise
    assert np.allclose(nnue_values(w2, "hex8", states, quantised=True), torch_out, atol=0.1)


def test_a_factorised_net_exports_the_function_it_trained():
    torch = pytest.importorskip("torch")
    from ringrift_ml.distill import nnue_values
    from ringrift_ml.train.nnue import NNUENet, n_virtual, virtual_features

    n = n_features(board_cells("square8"))
    # Virtual features: the code alone, then the cell with the occupant's relative seat.
    f = np.array([5 * 68 + 16, 7 * 68 + 61, 63 * 68 + 67])  # stack of seat 1, marker of 1, collapsed by 3
    assert virtual_features(f, n).tolist() == [n + 16, n + 61, n + 67, n + 68 + 5 * 4 + 1, n + 68 + 7 * 4 + 1,
                                               n + 68 + 63 * 4 + 3]
    net = NNUENet(n, 16, 8, 8, n_virtual(64))
    assert torch.count_nonzero(net.ft.weight[n:]) == 0  # virtual rows start at zero
    # Torch sums real and virtual rows in the bag; the export folds them together.
    states, torch_out = _torch_outputs(net, "square8", 2, 0.05, 5, 60)
    w = net.export("square8")
    assert w.W1.shape == (n, 16)  # only real rows: the compiled inference is unchanged
    assert np.allclose(nnue_values(w, "square8", states, quantised=False), torch_out, atol=1e-4)


def test_symmetrised_network_values_are_invariant(tmp_path):
    torch = pytest.importorskip("torch")
    from ringrift_ml.distill import network_values, symmetric_states
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(0)
    model = str(save_net(RingNet(net_config("square8", "tiny")), tmp_path / "net.pt", {}, {}))
    states = [g.S.copy() for g in random_games("square8", 2, 1, 7, 40)][15:]  # past the empty board
    images = symmetric_states("square8", states[0])
    assert len(images) == 8 and np.array_equal(images[0], states[0])
    plain = network_values(model, "square8", images)
    sym = network_values(model, "square8", images, symmetrise=True)
    assert not np.allclose(plain, plain[0], atol=1e-4)  # an untrained network is not invariant ...
    assert np.allclose(sym, sym[0], atol=1e-4)  # ... its mean over the images is
    both = network_values(model, "square8", states, symmetrise=True)
    assert both.shape == (len(states), 2) and np.allclose(both[0], sym[0], atol=1e-5)
    # Each image's own value: column k is the value of image k, their mean the symmetrised value.
    each = network_values(model, "square8", states, images=True)
    assert each.shape == (len(states), 8, 2)
    assert np.allclose(each[0], plain, atol=1e-5) and np.allclose(each.mean(axis=1), both, atol=1e-5)
    with pytest.raises(ValueError, match="exclude each other"):
        network_values(model, "square8", states, symmetrise=True, images=True)


def test_chunked_image_values_equal_one_chunk(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import ringrift_ml.distill as D
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(1)
    model = str(save_net(RingNet(net_config("hex8", "tiny")), tmp_path / "net.pt", {}, {}))
    states = [g.S.copy() for g in random_games("hex8", 3, 1, 3, 30)][5:12]
    whole = D.network_values(model, "hex8", states, images=True)
    monkeypatch.setattr(D, "IMAGE_CHUNK", 3)
    said = []
    parts = D.network_values(model, "hex8", states, images=True, log=said.append)
    k = len(symmetry_perms("hex8"))  # the symmetries hex8's rules respect
    assert whole.shape == (7, k, 3) and np.allclose(parts, whole, atol=1e-5)
    assert said[-1] == f"hex8: valued 7/7 positions in all {k} images"


def _bag_samples(board, n_positions, seed, games=4):
    from ringrift_ml.distill import samples

    states = [g.S.copy() for g in random_games(board, 2, games, seed, 60)][:n_positions]
    return samples(board, states, np.zeros((len(states), 2), dtype=np.float32), np.arange(len(states)) // 10)


def test_a_batch_draws_each_images_own_target():
    pytest.importorskip("torch")
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.train.nnue import NNUEData, _batch

    perms = symmetry_perms("hex8")
    data = _bag_samples("hex8", 40, 3)
    per_image = np.tile(np.arange(len(perms), dtype=np.float32), (len(data), 1))  # image k's target is k
    data = NNUEData(data.feats, data.starts, data.glob, per_image, data.game)
    rows = np.arange(len(data))
    idx, off, _, y = _batch(data, rows, perms, np.random.default_rng(0))
    bounds = list(off.numpy()) + [len(idx)]
    ks = y.numpy().astype(int)
    assert len(set(ks)) > 3  # several images drawn
    for r, k in zip(rows, ks):  # the features are those of the image whose target was drawn
        cells, codes = np.divmod(data.feats[data.starts[r]:data.starts[r + 1]], CODES)
        assert np.array_equal(idx.numpy()[bounds[r]:bounds[r + 1]], perms[k, cells] * CODES + codes)
    # Without augmentation a per-image target means the position as played.
    assert np.all(_batch(data, rows, None, None)[3].numpy() == 0)
    with pytest.raises(ValueError, match=f"each of {len(perms)} images, but square8 has 8 symmetries"):
        from ringrift_ml.train.nnue import NNUETrainConfig, train_nnue

        train_nnue("square8", data, data.take(rows[:4]), NNUETrainConfig(epochs=1))


def test_image_targets_let_the_student_follow_a_teacher_that_is_not_invariant():
    pytest.importorskip("torch")
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.train.nnue import NNUEData, NNUETrainConfig, predict, train_nnue

    # A teacher that counts pieces on the board's left half against the right: it changes
    # sign under the mirror, so the mean over the images of a position is zero.
    perms = symmetry_perms("square8")
    left = np.where(np.arange(64) % 8 < 4, 1.0, -1.0)
    data = _bag_samples("square8", 1200, 5, games=20)

    def teacher(k):
        out = np.zeros(len(data), dtype=np.float32)
        for r in range(len(data)):
            cells = data.feats[data.starts[r]:data.starts[r + 1]] // CODES
            out[r] = np.tanh(0.3 * left[perms[k, cells]].sum())
        return out

    per_image = np.stack([teacher(k) for k in range(len(perms))], axis=1)
    assert per_image[:, 0].std() > 0.2 and np.abs(per_image.mean(axis=1)).max() < 1e-6
    rows = np.arange(len(data))
    train_rows, held_rows = rows[data.game >= 20], rows[data.game < 20]
    cfg = NNUETrainConfig(hidden=16, l1=8, l2=8, epochs=20, batch_size=64, lr=1e-2, seed=0)
    errs = {}
    for name, target in (("copied", per_image[:, 0]), ("images", per_image)):
        d = NNUEData(data.feats, data.starts, data.glob, target, data.game)
        net, _ = train_nnue("square8", d.take(train_rows), d.take(held_rows), cfg, log=lambda m: None)
        errs[name] = float(np.mean((predict(net, d.take(held_rows)) - per_image[held_rows, 0]) ** 2))
    base = float(np.mean(per_image[held_rows, 0] ** 2))
    # Copied targets fit the images' mean (zero): no better than predicting 0.
    assert errs["copied"] > 0.8 * base and errs["images"] < 0.3 * base, (errs, base)


def test_nnue_file_refuses_what_it_cannot_use(tmp_path):
    w = random_weights("square8")
    path = w.save(tmp_path / "a.npz")
    z = dict(np.load(path))
    meta = json.loads(str(z["meta"]))
    meta["feature_set"] = {**FEATURE_SET, "hash": "0000"}
    np.savez(tmp_path / "b.npz", **{**z, "meta": np.array(json.dumps(meta))})
    with pytest.raises(ValueError, match="made for NNUE features"):
        load_nnue(tmp_path / "b.npz")
    with pytest.raises(ValueError, match="no such file"):
        load_nnue(tmp_path / "missing.npz")
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an NNUE file"):
        load_nnue(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="W1 has 4352 feature rows, the hex8 board has"):
        NNUEWeights("hex8", w.W1, w.b1, w.L1w, w.L1b, w.L2w, w.L2b, w.Ow, w.Ob)
    big = NNUEWeights("square8", w.W1, w.b1, w.L1w * 10, w.L1b, w.L2w, w.L2b, w.Ow, w.Ob)
    with pytest.raises(ValueError, match="L1w exceeds its quantised range"):
        big.quantised()
    assert CODES * board_cells("square8") == w.W1.shape[0]
    # A pairwise head takes half the accumulator: the plain head's L1w does not fit it.
    with pytest.raises(ValueError, match="L1w has shape"):
        NNUEWeights("square8", w.W1, w.b1, w.L1w, w.L1b, w.L2w, w.L2b, w.Ow, w.Ob, pairwise=True)
    from ringrift_ml.train.nnue import NNUETrainConfig

    with pytest.raises(ValueError, match="pairwise needs an even hidden width"):
        NNUETrainConfig(hidden=31, pairwise=True)
    with pytest.raises(ValueError, match="even accumulator width"):
        NNUEWeights("square8", w.W1[:, :31], w.b1[:31], w.L1w, w.L1b, w.L2w, w.L2b, w.Ow, w.Ob, pairwise=True)


def test_nnue_players_play_and_name_bad_specs(tmp_path):
    from ringrift_ml.ai import Budget
    from ringrift_ml.ai.factory import make_engine_player, parse_player
    from ringrift_ml.nn.players import make_player

    path = random_weights("square8", 3).save(tmp_path / "s8.npz")
    assert parse_player(f"minimax-nnue:{path}:50").budget == 50 and parse_player(f"descent-nnue:{path}").uses_nnue
    with pytest.raises(ValueError, match="expected minimax-nnue:<model>"):
        parse_player("minimax-nnue")
    with pytest.raises(ValueError, match="an NNUE player; build it"):
        make_engine_player(f"minimax-nnue:{path}", "square8", 2)
    with pytest.raises(ValueError, match="plays square8, not hex8"):
        make_player(f"minimax-nnue:{path}", "hex8", 2)
    for spec in (f"minimax-nnue:{path}:60", f"descent-nnue:{path}:60"):
        player, budget = make_player(spec, "square8", 2)
        g = FastGame(new_game("square8", 2))
        for ply in range(30):
            if g.is_over:
                break
            res = player.think(g, budget, seed=ply)
            assert any(np.array_equal(res.row, r) for r in g.legal())
            g.apply(res.row)
    assert isinstance(budget, Budget) and isinstance(player.evaluator, NNUEEvaluator)


def test_nnue_files_travel_with_their_specs(tmp_path):
    """A spec naming an NNUE file reaches a Ray actor on another host as bytes
    (``nn.shipped``): the copy has the same bytes, the spec names it and keeps its
    budget (a count or a time), and the player built from it plays."""
    from ringrift_ml.nn.players import make_player
    from ringrift_ml.nn.shipped import ShippedSpecs

    (tmp_path / "driver").mkdir()
    path = random_weights("square8", 5).save(tmp_path / "driver" / "current.nnue.npz")
    specs = [f"minimax-nnue:{path}:40", f"descent-nnue:{path}:0.05s", "minimax:30"]
    shipped = ShippedSpecs(specs)
    handle, local, weights = shipped.unpack()
    with handle:
        assert local["minimax:30"] == "minimax:30" and weights is None
        copies = set()
        for spec in specs[:2]:
            engine, rest = local[spec].split(":", 1)
            copy, budget = rest.rsplit(":", 1)
            assert engine == spec.split(":", 1)[0] and budget == spec.rsplit(":", 1)[1]
            assert Path(copy).read_bytes() == path.read_bytes() and not Path(copy).is_relative_to(tmp_path)
            copies.add(copy)
        assert len(copies) == 1  # one file shipped once for both specs
        player, budget = make_player(local[specs[0]], "square8", 2)
        g = FastGame(new_game("square8", 2))
        assert any(np.array_equal(player.think(g, budget, seed=0).row, r) for r in g.legal())
    assert not Path(handle.name).exists()  # the copies go with their handle
    # Specs that read no file need no directory on the actor's host.
    assert ShippedSpecs(["minimax:30", "heuristic"]).unpack() == (None, {"minimax:30": "minimax:30",
                                                                         "heuristic": "heuristic"}, None)


def test_distill_from_the_lake(tmp_path, capsys):
    pytest.importorskip("torch")
    from ringrift_ml.cli import main
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    store = LakeStore.open(tmp_path)
    write_generated(store, run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=6,
                                                       seed=1), progress=False), run_id="t")
    import torch

    torch.manual_seed(0)
    model = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "net.pt", {}, {})
    args = ["nnue", "train", "--partition", "square8|2", "--storage", str(tmp_path), "--epochs", "2", "--hidden", "16",
            "--l1", "8", "--l2", "8", "--holdout", "0.34"]
    assert main(args + ["--out", str(tmp_path / "x.npz")]) == 2  # no network: needs --mix 1
    assert "mix" in capsys.readouterr().err
    assert main(args + ["--model", str(model), "--branches", "1", "--mix", "0.5"]) == 2
    assert "branches" in capsys.readouterr().err
    assert main(args + ["--model", str(model), "--branches", "1", "--out", str(tmp_path / "n.npz")]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["games"] == 6 and report["heldout_games"] == 2 and report["branch_positions"] > 0
    assert report["float_vs_torch_max_abs"] < 1e-3 and set(report["corr_with_network"]) == {
        "nnue", "nnue_float", "heuristic", "symmetrised_network"}
    assert set(report["corr_with_symmetrised_network"]) == {"nnue", "nnue_float", "heuristic"}
    assert report["targets"] == "network"
    assert report["mse_result"]["zero"] > 0 and len(report["epochs"]) == 2
    assert main(["nnue", "info", str(tmp_path / "n.npz")]) == 0
    out = capsys.readouterr().out
    assert "NNUE for square8 2p" in out and "correlation with the network's value" in out
    # The quantised head's biases were corrected on training positions, and the file keeps it.
    quant = report["quantisation"]
    assert quant["positions"] > 0 and quant["after"]["rmse"] <= quant["before"]["rmse"] + 1e-4
    assert set(load_nnue(tmp_path / "n.npz").qbias) == {"L1b", "L2b", "Ob"}
    # Symmetrised targets: the report's references swap roles, nothing else changes.
    assert main(args + ["--model", str(model), "--symmetrise", "--out", str(tmp_path / "s.npz")]) == 0
    sym = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert sym["targets"] == "network, symmetrised"
    assert sym["corr_with_network"]["symmetrised_network"] == report["corr_with_network"]["symmetrised_network"]
    # Each image's own value: the references come from the labels themselves.
    assert main(args + ["--model", str(model), "--image-targets", "--out", str(tmp_path / "i.npz")]) == 0
    img = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert img["targets"] == "network, each image's own" and img["label_seconds"] >= 0
    assert img["corr_with_network"]["symmetrised_network"] == pytest.approx(
        report["corr_with_network"]["symmetrised_network"], abs=1e-3)
    assert main(args + ["--model", str(model), "--image-targets", "--symmetrise"]) == 2
    assert "image_targets" in capsys.readouterr().err
    assert main(args + ["--model", str(model), "--image-targets", "--no-symmetries"]) == 2
    assert "the symmetries on" in capsys.readouterr().err
    # Positions of games played here: trained on, never held out.
    assert main(args + ["--mix", "1", "--extra-games", "2", "--out", str(tmp_path / "e.npz")]) == 2
    assert "extra_games" in capsys.readouterr().err
    assert main(args + ["--model", str(model), "--extra-games", "2", "--out", str(tmp_path / "e.npz")]) == 0
    out = capsys.readouterr().out
    assert "played 2/2 games of heuristic" in out  # progress of the games played here
    extra = json.loads(out.splitlines()[-1])
    assert extra["extra_games"] == 2 and extra["extra_player"] == "heuristic" and extra["extra_positions"] > 10
    assert extra["positions"] == report["positions"] - report["branch_positions"] + extra["extra_positions"]
    assert (extra["games"], extra["heldout_games"], extra["heldout_positions"]) == (
        report["games"], report["heldout_games"], report["heldout_positions"])
    # The extra games' player may be the network itself; a registry reference needs a registry.
    assert main(args + ["--model", str(model), "--extra-games", "2", "--extra-player", f"policy:{model}",
                        "--out", str(tmp_path / "p.npz")]) == 0
    pol = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert pol["extra_player"] == f"policy:{model}" and pol["extra_positions"] > 10
    assert main(args + ["--model", str(model), "--extra-games", "2", "--extra-player", "policy:best",
                        "--out", str(tmp_path / "p.npz")]) == 2
    assert "has no promoted model" in capsys.readouterr().err
    # A pairwise head: trained, exported and run as trained.
    assert main(args + ["--model", str(model), "--pairwise", "--out", str(tmp_path / "pw.npz")]) == 0
    pw = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert pw["float_vs_torch_max_abs"] < 1e-3 and load_nnue(tmp_path / "pw.npz").pairwise
    assert main(["nnue", "info", str(tmp_path / "pw.npz")]) == 0
    assert "pairwise head" in capsys.readouterr().out
    # Result-only targets need no network.
    assert main(args + ["--mix", "1", "--out", str(tmp_path / "r.npz")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["model"] is None
    from ringrift_ml.nn.players import make_player

    make_player(f"minimax-nnue:{tmp_path / 'n.npz'}", "square8", 2)
    with pytest.raises(ValueError, match="trained on 2-player games, not 3"):
        make_player(f"minimax-nnue:{tmp_path / 'n.npz'}", "square8", 3)


def test_distill_reads_the_lakes_games_in_chunks(tmp_path):
    from ringrift_ml import distill
    from ringrift_ml.lake import LakeStore
    from ringrift_ml.lake.generated import write_generated
    from ringrift_ml.selfplay import SelfplayConfig, run_selfplay

    store = LakeStore.open(tmp_path)
    write_generated(store, run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=5,
                                                       seed=2), progress=False), run_id="t")
    whole = list(distill._rows(store, "square8", 2, max_games=4, chunk=100))
    assert len(whole) == 4 and [r["game_id"] for r in whole] == sorted(r["game_id"] for r in whole)
    # Two at a time: the same games in the same order, the targets left out.
    chunked = list(distill._rows(store, "square8", 2, max_games=4, chunk=2))
    assert [r["game_id"] for r in chunked] == [r["game_id"] for r in whole] and "policy_json" not in chunked[0]
    assert chunked == whole
    assert list(distill._rows(store, "hex8", 2, max_games=4)) == []
    a = distill.positions(store, "square8", 2, max_games=5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distill, "ROWS_CHUNK", 1)
        b = distill.positions(store, "square8", 2, max_games=5)
    assert len(a["S"]) == len(b["S"]) > 0 and (a["game"] == b["game"]).all()
    assert all(np.array_equal(x, y) for x, y in zip(a["S"], b["S"]))


def test_played_positions_do_not_depend_on_how_many_games_are_in_flight(tmp_path):
    pytest.importorskip("torch")
    import torch

    from ringrift_ml.distill import played_positions
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(0)
    model = save_net(RingNet(net_config("square8", "tiny")), tmp_path / "net.pt", {}, {})
    for player in ("heuristic", f"policy:{model}"):
        one = played_positions("square8", 2, 3, player, seed=5, concurrency=1, log=lambda m: None)
        many = played_positions("square8", 2, 3, player, seed=5, concurrency=3, log=lambda m: None)
        assert len(one) == len(many) > 30
        assert all((a == b).all() for a, b in zip(one, many))
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        played_positions("square8", 2, 1, "heuristic", concurrency=0)


def _rounding_biased_weights(board="square8", seed=21):
    """Weights whose head rounds every weight the same way (each a little under half a
    unit above a multiple of its column's unit), so that the quantised head is off by a
    fixed amount: what bias correction is for."""
    from ringrift_ml.nnue.model import head_divisors

    from ringrift_ml.ai._k_nnue import PLAYERS_BASE

    w = random_weights(board, seed, hidden=32, l1=8, l2=8)
    w.L1w *= 0.1  # small head weights, as trained heads have, so the values do not saturate
    w.L2w *= 0.3
    w.L1b[:] = w.L2b[:] = 0.3
    # A four-player input (0 in the two-player games used here) with a large weight puts
    # every first-layer column on the coarsest scale, 1/QB.
    w.L1w[w.head_inputs + PLAYERS_BASE + 2, :] = 1.9
    for name in ("L1w", "L2w"):
        a = getattr(w, name)
        d = head_divisors(a)
        # Nudged to 0.45 of a unit above the grid: rounding takes 0.45 units off every weight.
        setattr(w, name, ((np.floor(a * d) + 0.45) / d).astype(np.float32))
    return w


def test_bias_correction_removes_the_mean_quantisation_error():
    """Measured on the positions of some games, the corrections make the integer path's
    mean error against the float path on other games' positions near zero (it was not),
    and shrink its RMS error; the float path does not change."""
    from ringrift_ml.nnue.calibrate import correct_quantisation

    w = _rounding_biased_weights()
    cal = [g.S.copy() for g in random_games("square8", 2, 3, 31, 120)]
    fixed, report = correct_quantisation(w, cal, max_positions=200, seed=1)
    assert report["positions"] == 200 and report["rows"] == 400
    assert abs(report["after"]["mean"]) < abs(report["before"]["mean"])
    held = list(random_games("square8", 2, 3, 77, 120))
    vf = np.ravel([NNUEEvaluator(w, quantised=False).values(g) for g in held])
    before = np.ravel([NNUEEvaluator(w).values(g) for g in list(random_games("square8", 2, 3, 77, 120))])
    after = np.ravel([NNUEEvaluator(fixed).values(g) for g in list(random_games("square8", 2, 3, 77, 120))])
    vf2 = np.ravel([NNUEEvaluator(fixed, quantised=False).values(g) for g in list(random_games("square8", 2, 3, 77, 120))])
    assert np.array_equal(vf, vf2)  # the float path ignores the corrections
    assert abs(np.mean(before - vf)) > 0.01  # the rounding did bias the integer head
    assert abs(np.mean(after - vf)) < 0.3 * abs(np.mean(before - vf))
    assert np.sqrt(np.mean((after - vf) ** 2)) < np.sqrt(np.mean((before - vf) ** 2))


def test_bias_corrections_travel_with_the_file_and_bad_ones_are_refused(tmp_path, capsys):
    from ringrift_ml.cli import main
    from ringrift_ml.nnue.calibrate import correct_quantisation

    w = _rounding_biased_weights()
    fixed, _ = correct_quantisation(w, [g.S.copy() for g in random_games("square8", 2, 1, 3, 60)])
    fixed.save(tmp_path / "f.npz")
    back = load_nnue(tmp_path / "f.npz")
    assert all(np.allclose(back.qbias[k], fixed.qbias[k]) for k in ("L1b", "L2b", "Ob"))
    assert all(np.array_equal(back.quantised()[k], fixed.quantised()[k]) for k in fixed.quantised())
    w.save(tmp_path / "plain.npz")
    assert load_nnue(tmp_path / "plain.npz").qbias == {}
    with pytest.raises(ValueError, match="qbias L1b must be"):
        dataclasses_replace(w, qbias={"L1b": np.zeros(3)})
    with pytest.raises(ValueError, match="it corrects only"):
        dataclasses_replace(w, qbias={"W1": np.zeros(3)})
    with pytest.raises(ValueError, match="no positions"):
        correct_quantisation(w, [])
    # The command corrects a file made without them; bad arguments name the field.
    assert main(["nnue", "calibrate", str(tmp_path / "plain.npz"), "--num-players", "2", "--games", "2",
                 "--out", str(tmp_path / "c.npz")]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["games"] == 2 and report["positions"] > 0
    cal = load_nnue(tmp_path / "c.npz")
    assert set(cal.qbias) == {"L1b", "L2b", "Ob"} and cal.meta["calibration"]["players"] == 2
    assert main(["nnue", "calibrate", str(tmp_path / "plain.npz"), "--num-players", "5", "--out", str(tmp_path / "x.npz")]) == 2
    assert "--num-players must be 2, 3 or 4" in capsys.readouterr().err
    assert main(["nnue", "calibrate", str(tmp_path / "missing.npz"), "--num-players", "2", "--out", str(tmp_path / "x.npz")]) == 2
    assert "no such file" in capsys.readouterr().err


def dataclasses_replace(w, **kw):
    import dataclasses

    return dataclasses.replace(w, **kw)
