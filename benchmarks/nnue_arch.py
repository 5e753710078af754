"""NNUE architectures and input features compared on one fixed labelled set (JSON lines).

    python benchmarks/nnue_arch.py --storage S --partition 'hex8|2' --cache F.npz \\
        --variants plain:128,pair:64x64x64,edges:128,persp-pair:64,stacks4:64 \\
        [--extra-games 10000] [--epochs 24] [--seed 0] [--factorise]

Builds the set once (cached in ``--cache``; a later run with the same file reuses it): the
partition's lake positions and ``--extra-games`` heuristic games, labelled by the best
network's value, a tenth of the lake's games held out (positions of the extra games are
trained on only), as ``ringrift nnue train`` builds it.  Then trains each variant on the
same set and prints its held-out correlation with the network (float) and MSE:

* ``plain:H`` / ``pair:H``: ``train_nnue`` itself, an accumulator of width ``H``, the
  plain head or the pairwise one (``NNUETrainConfig.pairwise``); ``plain:HxL1xL2`` /
  ``pair:HxL1xL2`` also set the head's two hidden layers (default 32 and 32);
* ``edges:H`` / ``edges-pair:H`` (``xL1xL2`` as above): the plain or the pairwise head
  on the shipped per-cell features **plus one feature per
  pair of neighbouring cells** (each undirected edge of the board's line directions, with
  the two cells' coarse contents: empty, or a stack, marker or collapsed cell of a
  relative seat, 13 x 13 values per edge less both empty).  Such inputs see local
  shapes (two markers in a row, a stack beside a collapsed cell) that per-cell sums can
  only reach through the head.  They exist only here, in torch: the loop below mirrors
  ``train_nnue`` (Adam, cosine schedule, clamped weights, symmetry augmentation, the
  best held-out epoch kept) with the features computed from each position's cells after
  its random symmetry.
* ``persp:H`` / ``persp-pair:H`` (``xL1xL2`` as above): the head reads every seat's
  accumulator, the sample's own first, then the others' in relative order (chess NNUEs
  read the side to move's and the other side's), one shared first layer;
* ``stacksB:H`` (``xL1xL2`` as above): the pairwise head ``B`` times over, one chosen per
  sample by how many cells hold something (cut at the training samples' quantiles), as
  chess NNUEs choose a head by the pieces on the board.

The last two exist only here, in torch, with the same procedure as ``edges``.

Lines: ``{"kind": "set", ...}`` once, ``{"kind": "epoch", ...}`` for the torch-only variants,
``{"kind": "variant", "variant", "features", "corr_float", "best_heldout_mse",
"last_train_mse", "seconds"}`` per variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

COARSE = 13  # empty, or a stack / marker / collapsed cell of relative seat 0-3
EMPTY = COARSE - 1


def build_set(storage: str, board: str, players: int, cache: Path, extra_games: int, seed: int) -> dict:
    """The labelled set, built once into ``cache`` (an ``.npz``)."""
    if not cache.is_file():
        from ringrift_ml import distill as D
        from ringrift_ml.lake import LakeStore
        from ringrift_ml.loop.run import resolve_ref

        store = LakeStore.open(storage, None)
        model = str(resolve_ref(store, board, players, "best"))
        t = time.time()
        pos = D.positions(store, board, players, max_games=2000)
        extra = D.played_positions(board, players, extra_games, "heuristic", seed=seed + 1_000_003,
                                   log=lambda m: None)
        states = list(pos["S"]) + extra
        games = np.concatenate([pos["game"], np.full(len(extra), int(pos["game"].max()) + 1)])
        branch = np.concatenate([pos["branch"], np.ones(len(extra), bool)])
        data = D.samples(board, states, D.network_values(model, board, states), games)
        lake_ids = np.unique(pos["game"])
        rng = np.random.default_rng(seed)
        held = set(rng.choice(lake_ids, size=max(1, int(round(0.1 * len(lake_ids)))), replace=False).tolist())
        in_held = np.array([g in held for g in games])
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, feats=data.feats, starts=data.starts, glob=data.glob, target=data.target, game=data.game,
                 held_pos=in_held & ~branch, train_pos=~in_held, model=np.array(model),
                 seconds=np.array(time.time() - t))
    return dict(np.load(cache))


def edges(board: str) -> np.ndarray:
    """``[E, 2]`` neighbouring cells, one row per undirected edge of the line directions
    (the rules' rays, one direction of each opposite pair; cell-major order)."""
    from ringrift_ml.rules.boards import board_spec

    geo = board_spec(board).geo
    step = geo.ray[:, : geo.nd // 2, 0]  # each cell's first neighbour along the direction, -1 off the board
    a, d = np.nonzero(step >= 0)
    return np.stack([a, step[a, d]], axis=1).astype(np.int64)


def dense_codes(feats: np.ndarray, starts: np.ndarray, n_cells: int) -> tuple:
    """``(codes [rows, cells] with -1 for empty, coarse [rows, cells])`` from the
    shipped sparse features (``cell * CODES + code``)."""
    from ringrift_ml.ai._k_nnue import CODES, COLLAPSED_BASE, MARKER_BASE, SEATS
    from ringrift_ml.train.nnue import _relative_seat

    rows = len(starts) - 1
    owner = np.repeat(np.arange(rows), np.diff(starts))
    cells, codes = np.divmod(feats, CODES)
    dense = np.full((rows, n_cells), -1, dtype=np.int16)
    dense[owner, cells] = codes
    # What the cell shows (0 stack, 1 marker, 2 collapsed) and whose it is, relative seat.
    kind = (codes >= MARKER_BASE).astype(np.int64) + (codes >= COLLAPSED_BASE)
    coarse = np.full((rows, n_cells), EMPTY, dtype=np.int8)
    coarse[owner, cells] = kind * SEATS + _relative_seat(codes)
    return dense, coarse


def edge_bag(dense, coarse, rows, perm, E, n_cells):
    """A batch's bag (indices, offsets): cell features then edge features, after mapping
    each row's cells by its symmetry ``perm[i]`` (``None``: as stored)."""
    import torch

    from ringrift_ml.ai._k_nnue import CODES

    d, c = dense[rows], coarse[rows]
    if perm is not None:
        nd, nc = np.empty_like(d), np.empty_like(c)
        at = np.arange(len(rows))[:, None]
        nd[at, perm], nc[at, perm] = d, c
        d, c = nd, nc
    r1, cell = np.nonzero(d >= 0)
    f1 = cell * CODES + d[r1, cell]
    v = c[:, E[:, 0]].astype(np.int64) * COARSE + c[:, E[:, 1]]
    r2, e = np.nonzero(v != EMPTY * COARSE + EMPTY)
    f2 = n_cells * CODES + e * COARSE * COARSE + v[r2, e]
    r = np.concatenate([r1, r2])
    order = np.argsort(r, kind="stable")
    counts = np.bincount(r, minlength=len(rows))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return torch.from_numpy(np.concatenate([f1, f2])[order]), torch.from_numpy(offsets.astype(np.int64))


def _fit(net, bag, forward, n_sym, target, train_rows, held_rows, epochs, seed, out):
    """``train_nnue``'s procedure for the torch-only variants: Adam, cosine schedule,
    weights clamped to their integer ranges after each step, a random symmetry per
    sample, the epoch with the lowest held-out MSE kept.  ``bag(rows, sym)`` is a batch's
    ``(indices, offsets)`` (``sym`` ``None``: as stored; else one of ``n_sym`` per row),
    ``forward(idx, off, rows)`` the net's values.  Returns ``(corr_float,
    best_heldout_mse, last_train_mse)``."""
    import torch

    from ringrift_ml.train.nnue import NNUENet, NNUETrainConfig

    cfg = NNUETrainConfig(epochs=epochs, seed=seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))

    def predict(rows):
        net.eval()
        with torch.no_grad():
            return np.concatenate([forward(*bag(r, None), r).numpy()
                                   for r in (rows[i:i + 4096] for i in range(0, len(rows), 4096))])

    best, best_state, last_train = np.inf, None, float("nan")
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(train_rows)
        total = 0.0
        for i in range(0, len(order), cfg.batch_size):
            rows = order[i:i + cfg.batch_size]
            idx, off = bag(rows, rng.integers(n_sym, size=len(rows)))
            loss = torch.mean((forward(idx, off, rows) - torch.from_numpy(target[rows])) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            NNUENet.clamp_weights(net)  # the variants' nets name their layers as NNUENet does
            total += float(loss.detach()) * len(rows)
        sched.step()
        last_train = total / max(len(order), 1)
        mse = float(np.mean((predict(held_rows) - target[held_rows]) ** 2))
        out({"kind": "epoch", "epoch": epoch, "train_mse": round(last_train, 5), "heldout_mse": round(mse, 5)})
        if mse < best:
            best, best_state = mse, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    return float(np.corrcoef(predict(held_rows), target[held_rows])[0, 1]), best, last_train


def _cell_bag(z, perms):
    """A batch's bag of the shipped per-cell features, each row's cells mapped by its
    symmetry ``sym[i]`` (``train_nnue``'s own batching)."""
    from ringrift_ml.train import nnue as T

    data = T.NNUEData(z["feats"], z["starts"], z["glob"], z["target"], z["game"])

    def bag(rows, sym):
        return T._batch(data, rows, None if sym is None else perms, None, sym=sym)[:2]

    return bag


def variant_edges(board, z, hidden, l1, l2, pairwise=False):
    """The ``edges`` / ``edges-pair`` variants: the plain or pairwise head on cell and
    edge features."""
    import torch

    from ringrift_ml.ai._k_nnue import CODES
    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nnue.model import board_cells
    from ringrift_ml.train.nnue import NNUENet

    n_cells = board_cells(board)
    E = edges(board)
    dense, coarse = dense_codes(z["feats"], z["starts"], n_cells)
    perms = symmetry_perms(board)
    glob = torch.from_numpy(z["glob"])
    n_feat = n_cells * CODES + len(E) * COARSE * COARSE
    net = NNUENet(n_feat, hidden, l1, l2, pairwise=pairwise)

    def bag(rows, sym):
        return edge_bag(dense, coarse, rows, None if sym is None else perms[sym], E, n_cells)

    return n_feat, net, bag, lambda idx, off, rows: net(idx, off, glob[rows])


def variant_persp(board, z, players, hidden, l1, l2, pairwise):
    """The ``persp`` / ``persp-pair`` variants: the head reads every seat's accumulator,
    the sample's own first and the others in relative order, one shared first layer;
    each clipped (or the products of its halves), then the sample's own globals.  A
    sample's other seats are its neighbouring rows (``samples`` stores a position's
    seats one after another)."""
    import torch
    from torch import nn

    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nnue.features import N_GLOBALS, n_features
    from ringrift_ml.nnue.model import board_cells
    from ringrift_ml.train.nnue import NNUENet

    n_feat = n_features(board_cells(board))
    glob = torch.from_numpy(z["glob"])
    width = hidden // 2 if pairwise else hidden
    cell_bag = _cell_bag(z, symmetry_perms(board))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ft = nn.EmbeddingBag(n_feat, hidden, mode="sum")
            self.b1 = nn.Parameter(torch.full((hidden,), 0.5))
            self.l1 = nn.Linear(players * width + N_GLOBALS, l1)
            self.l2 = nn.Linear(l1, l2)
            self.out = nn.Linear(l2, 1)
            self.pairwise = pairwise
            nn.init.normal_(self.ft.weight, 0.0, 0.01)

        def forward(self, idx, off, rows):
            n = len(rows)
            acc = NNUENet.accumulator(self, idx, off)  # [players * n], seat-major
            acc = acc.reshape(players, n, width).permute(1, 0, 2).reshape(n, players * width)
            h = self.l1(torch.cat([acc, glob[rows]], dim=1)).clamp(0.0, 1.0)
            return torch.tanh(self.out(self.l2(h).clamp(0.0, 1.0)).squeeze(1))

    def bag(rows, sym):
        first = rows - rows % players
        seats = np.concatenate([first + (rows - first + k) % players for k in range(players)])
        return cell_bag(seats, None if sym is None else np.tile(sym, players))

    net = Net()
    return n_feat, net, bag, net


def variant_stacks(board, z, train_rows, hidden, l1, l2, buckets):
    """The ``stacks`` variant: the pairwise head ``buckets`` times over, one chosen per
    sample by its count of active features (cells that hold something), cut at the
    training samples' quantiles; the accumulator is shared."""
    import torch
    from torch import nn

    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.nnue.features import N_GLOBALS, n_features
    from ringrift_ml.nnue.model import board_cells
    from ringrift_ml.train.nnue import NNUENet

    n_feat = n_features(board_cells(board))
    glob = torch.from_numpy(z["glob"])
    count = np.diff(z["starts"])
    cuts = np.quantile(count[train_rows], np.arange(1, buckets) / buckets)
    bucket = torch.from_numpy(np.searchsorted(cuts, count, side="right").astype(np.int64))
    half = hidden // 2

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ft = nn.EmbeddingBag(n_feat, hidden, mode="sum")
            self.b1 = nn.Parameter(torch.full((hidden,), 0.5))
            self.l1 = nn.Linear(half + N_GLOBALS, l1 * buckets)
            self.l2 = nn.Linear(l1, l2 * buckets)
            self.out = nn.Linear(l2, buckets)
            self.pairwise = True
            nn.init.normal_(self.ft.weight, 0.0, 0.01)

        def forward(self, idx, off, rows):
            b = bucket[rows]
            at = torch.arange(len(b))
            acc = NNUENet.accumulator(self, idx, off)
            # Every bucket's outputs, then the sample's own: exact, and simpler than
            # batches per bucket.
            h = self.l1(torch.cat([acc, glob[rows]], dim=1)).reshape(len(b), buckets, l1)[at, b].clamp(0.0, 1.0)
            h = self.l2(h).reshape(len(b), buckets, l2)[at, b].clamp(0.0, 1.0)
            return torch.tanh((h * self.out.weight[b]).sum(1) + self.out.bias[b])

    net = Net()
    return n_feat, net, _cell_bag(z, symmetry_perms(board)), net


KINDS = ("plain", "pair", "edges", "edges-pair", "persp", "persp-pair", "stacks")
TRAIN_NNUE_KINDS = ("plain", "pair")  # trained by train_nnue itself; the others by _fit


def parse_variant(v: str) -> tuple:
    """``(kind, H, L1, L2, buckets)`` of ``kind:H`` or ``kind:HxL1xL2`` (``stacksB``
    for ``B >= 2`` heads), or ValueError saying what is wrong."""
    from ringrift_ml.train.nnue import NNUETrainConfig

    kind, _, sizes = v.partition(":")
    buckets = 1
    if kind.startswith("stacks"):
        if not kind[6:].isdigit() or int(kind[6:]) < 2:
            raise ValueError(f"{v!r}: stacksB needs a number of heads B >= 2 (e.g. stacks4:64)")
        kind, buckets = "stacks", int(kind[6:])
    if kind not in KINDS:
        raise ValueError(f"{v!r}: the kind is one of plain, pair, edges, edges-pair, persp, persp-pair, "
                         "stacksB")
    dims = sizes.split("x")
    if len(dims) not in (1, 3) or not all(d.isdigit() and int(d) >= 1 for d in dims) or int(dims[0]) < 2:
        raise ValueError(f"{v!r}: the sizes are H or HxL1xL2 (accumulator H >= 2, head layers >= 1)")
    if kind in ("pair", "edges-pair", "persp-pair", "stacks") and int(dims[0]) % 2:
        raise ValueError(f"{v!r}: a pairwise head needs an even accumulator width")
    l1, l2 = (int(dims[1]), int(dims[2])) if len(dims) == 3 else (NNUETrainConfig.l1, NNUETrainConfig.l2)
    return kind, int(dims[0]), l1, l2, buckets


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storage", required=True)
    ap.add_argument("--partition", required=True, help="board|players, e.g. 'hex8|2'")
    ap.add_argument("--cache", required=True, help="the labelled set's .npz (built when missing)")
    ap.add_argument("--variants", default="plain:128,pair:64,edges:128")
    ap.add_argument("--extra-games", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--factorise", action="store_true",
                    help="the plain and pair kinds train with train_nnue's factorised rows "
                         "(folded in at export)")
    args = ap.parse_args(argv)
    import torch

    from ringrift_ml.nn.augment import symmetry_perms
    from ringrift_ml.partition import Partition
    from ringrift_ml.train import nnue as T

    torch.set_num_threads(1)

    def out(d: dict) -> None:
        print(json.dumps(d), flush=True)

    try:
        part = Partition.parse(args.partition)
    except ValueError as e:
        print(f"error: --partition: {e}", file=sys.stderr)
        return 2
    board, players = part.board, part.players
    variants = []
    for v in args.variants.split(","):
        try:
            variants.append((v, *parse_variant(v)))
        except ValueError as e:
            print(f"error: --variants: {e}", file=sys.stderr)
            return 2
    if args.factorise and any(kind not in TRAIN_NNUE_KINDS for _, kind, *_ in variants):
        print("error: --factorise: only the plain and pair kinds train through train_nnue, which factorises",
              file=sys.stderr)
        return 2
    z = build_set(args.storage, board, players, Path(args.cache), args.extra_games, args.seed)
    held_rows = np.flatnonzero(np.repeat(z["held_pos"], players))
    train_rows = np.flatnonzero(np.repeat(z["train_pos"], players))
    out({"kind": "set", "partition": args.partition, "model": str(z.get("model", "unrecorded")),
         "positions": int(len(z["train_pos"])),
         "train_rows": int(len(train_rows)), "heldout_rows": int(len(held_rows)),
         "heldout_games": int(len(np.unique(z["game"][held_rows])))})
    data = T.NNUEData(z["feats"], z["starts"], z["glob"], z["target"], z["game"])
    n_sym = len(symmetry_perms(board))
    for name, kind, width, l1, l2, buckets in variants:
        t = time.time()
        log = lambda d, name=name: out({**d, "variant": name})  # noqa: E731
        if kind in TRAIN_NNUE_KINDS:
            cfg = T.NNUETrainConfig(hidden=width, l1=l1, l2=l2, epochs=args.epochs, seed=args.seed,
                                    pairwise=kind == "pair", factorise=args.factorise)
            net, hist = T.train_nnue(board, data.take(train_rows), data.take(held_rows), cfg, log=lambda m: None)
            held = data.take(held_rows)
            corr = float(np.corrcoef(T.predict(net, held), held.target)[0, 1])
            n_feat, best, last = net.features, min(h["heldout_mse"] for h in hist), hist[-1]["train_mse"]
        else:
            torch.manual_seed(args.seed)
            if kind in ("edges", "edges-pair"):
                n_feat, net, bag, forward = variant_edges(board, z, width, l1, l2, kind == "edges-pair")
            elif kind == "stacks":
                n_feat, net, bag, forward = variant_stacks(board, z, train_rows, width, l1, l2, buckets)
            else:
                n_feat, net, bag, forward = variant_persp(board, z, players, width, l1, l2, kind == "persp-pair")
            corr, best, last = _fit(net, bag, forward, n_sym, z["target"], train_rows, held_rows, args.epochs,
                                    args.seed, log)
        out({"kind": "variant", "variant": name, "features": int(n_feat), "corr_float": round(corr, 4),
             "best_heldout_mse": round(best, 5), "last_train_mse": round(last, 5),
             "seconds": round(time.time() - t)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
