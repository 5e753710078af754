"""An NNUE's weights and its file: float weights (the trained network, the reference
path) and their quantised form (what search runs), with the feature set and board.

The file is a NumPy ``.npz`` without pickles: the float arrays, the integer arrays and
one JSON string of metadata (feature set, board, layer sizes, what it was trained on and
how well it matches the network).  Loading checks the feature set (a file of another
one is refused, naming both) and the shapes against the board.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ..rules.boards import BOARD_TYPES
from ..ai._k_nnue import QA, QB, QB_MAX
from .features import FEATURE_SET, N_GLOBALS, check_feature_set, n_features

FLOAT_ARRAYS = ("W1", "b1", "L1w", "L1b", "L2w", "L2b", "Ow", "Ob")
INT_LIMIT = {"W1": 32767, "b1": 32767, "L1w": 127, "L2w": 127, "Ow": 127}
QBIAS_NAMES = ("L1b", "L2b", "Ob")
WEIGHT_BOUND = {"W1": 32767 / QA, "b1": 32767 / QA, "L1w": 127 / QB, "L2w": 127 / QB, "Ow": 127 / QB}
"""Float ranges that quantise without overflow (training clamps its weights to them)."""


def head_divisors(w: np.ndarray) -> np.ndarray:
    """Each output column's divisor of a head layer's weights ``w [inputs, outputs]``: the
    largest power of two ``d`` in ``[QB, QB_MAX]`` with every ``|w| * d <= 127``.  One
    scale for the whole layer would be set by its largest weight, leaving a column of
    small weights a unit or two of resolution (what most of the head's error was); a
    column's own power of two keeps the integer path exact (the weights stay int8) and
    costs one divisor per output."""
    m = np.abs(np.asarray(w, dtype=np.float64)).max(axis=0)
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(127.0 / m))
    d = np.exp2(np.clip(e, np.log2(QB), np.log2(QB_MAX)))
    return d.astype(np.int64)


def board_cells(board: str) -> int:
    from ..rules.boards import board_spec

    return board_spec(board).n_cells


@dataclasses.dataclass
class NNUEWeights:
    """The float weights of an NNUE (``W1 [features, hidden]``, ``b1 [hidden]``, ``L1w
    [head inputs + globals, l1]``, ``L1b``, ``L2w [l1, l2]``, ``L2b``, ``Ow [l2]``, ``Ob``
    scalar) for one board, and its metadata.  ``pairwise``: the head's inputs are the
    products of the clipped accumulator's first half with its second half (``hidden /
    2`` of them) instead of the clipped accumulator itself: products of two sums over
    the cells give the head interactions between cells that a clipped sum cannot, at
    half the head's first-layer inputs."""

    board: str
    W1: np.ndarray
    b1: np.ndarray
    L1w: np.ndarray
    L1b: np.ndarray
    L2w: np.ndarray
    L2b: np.ndarray
    Ow: np.ndarray
    Ob: float
    meta: dict = dataclasses.field(default_factory=dict)
    pairwise: bool = False
    qbias: dict = dataclasses.field(default_factory=dict)
    """Corrections added to the head's biases (``L1b`` / ``L2b`` arrays, ``Ob`` a number)
    when quantising only: the mean error that rounding the weights leaves in each
    output, measured on positions (:func:`ringrift_ml.nnue.calibrate.correct_quantisation`).
    Empty: none.  The float path never reads them."""

    def __post_init__(self):
        if self.board not in BOARD_TYPES:
            raise ValueError(f"nnue: board {self.board!r} is not one of {', '.join(BOARD_TYPES)}")
        for name in FLOAT_ARRAYS[:-1]:
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float32))
        self.Ob = float(self.Ob)
        f, h = self.W1.shape
        want = n_features(board_cells(self.board))
        if f != want:
            raise ValueError(f"nnue: W1 has {f} feature rows, the {self.board} board has {want}")
        self.pairwise = bool(self.pairwise)
        if self.pairwise and h % 2:
            raise ValueError(f"nnue: a pairwise head needs an even accumulator width, got {h}")
        l1, l2 = self.L1w.shape[1], self.L2w.shape[1]
        shapes = {"b1": (h,), "L1w": (self.head_inputs + N_GLOBALS, l1), "L1b": (l1,), "L2w": (l1, l2), "L2b": (l2,),
                  "Ow": (l2,)}
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"nnue: {name} has shape {getattr(self, name).shape}, expected {shape}")
        for name in FLOAT_ARRAYS[:-1]:
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"nnue: {name} holds values that are not finite")
        qb = {}
        for name, value in dict(self.qbias).items():
            if name not in QBIAS_NAMES:
                raise ValueError(f"nnue: qbias has {name!r}; it corrects only {', '.join(QBIAS_NAMES)}")
            want = (l1,) if name == "L1b" else (l2,) if name == "L2b" else ()
            value = np.asarray(value, dtype=np.float64)
            if value.shape != want or not np.all(np.isfinite(value)):
                raise ValueError(f"nnue: qbias {name} must be {want or 'a number'} of finite values, "
                                 f"got shape {value.shape}")
            qb[name] = value
        self.qbias = qb

    @property
    def hidden(self) -> int:
        return int(self.W1.shape[1])

    @property
    def head_inputs(self) -> int:
        """The head's inputs from the accumulator (half of it when pairwise)."""
        return self.hidden // 2 if self.pairwise else self.hidden

    @property
    def sizes(self) -> tuple:
        return self.hidden, int(self.L1w.shape[1]), int(self.L2w.shape[1])

    def quantised(self) -> dict:
        """The integer arrays search runs: ``W1q`` / ``b1q`` int16 in units of 1/QA; each
        head layer's weights int8, every output's column in units of ``1 / d`` with its own
        divisor ``d`` (``L1dq``, ``L2dq`` per output, ``Odq`` for the single output), its
        biases int32 in 1/(QA*d).  ``ValueError`` naming the layer if a weight falls
        outside what its integer type holds."""
        def rounded(name: str, scaled: np.ndarray, dtype) -> np.ndarray:
            q = np.rint(scaled)
            if np.abs(q).max(initial=0) > INT_LIMIT[name]:
                raise ValueError(f"nnue: {name} exceeds its quantised range (|w| <= {WEIGHT_BOUND[name]:.3f}); "
                                 "train with weight clamping")
            return q.astype(dtype)

        out = {name + "q": rounded(name, getattr(self, name) * QA, np.int16) for name in ("W1", "b1")}
        for w, b, key in ((self.L1w, self.L1b, "L1"), (self.L2w, self.L2b, "L2"),
                          (self.Ow[:, None], np.array([self.Ob]), "O")):
            d = head_divisors(w)
            q = rounded(key + "w", w * d, np.int8)
            bq = np.rint((b.astype(np.float64) + self.qbias.get(key + "b", 0.0)) * QA * d)
            if np.abs(bq).max(initial=0) > 2 ** 31 - 1:
                raise ValueError(f"nnue: {key}b is too large for its int32 units of 1/(QA * d)")
            if key == "O":
                out["Owq"], out["Obq"], out["Odq"] = q[:, 0], np.int32(bq[0]), np.int64(d[0])
            else:
                # A hidden output is its sum divided by ``d`` and floored; half a divisor in
                # the bias makes that a rounding, so the integer head does not sit half a
                # unit below the float one at every hidden output.
                out[key + "wq"], out[key + "dq"] = q, d.astype(np.int32)
                out[key + "bq"] = (bq + d // 2).astype(np.int32)
        return out

    def save(self, path) -> Path:
        """Write the file (float and quantised arrays, metadata); returns its path."""
        from ..atomic import write_bytes

        path = Path(path)
        meta = {**self.meta, "feature_set": FEATURE_SET, "board": self.board, "sizes": list(self.sizes),
                "pairwise": self.pairwise, "qa": QA, "qb": QB, "head_scales": "per output, power of two"}
        import io

        buf = io.BytesIO()
        qbias = {"qbias_" + k: np.asarray(v, dtype=np.float64) for k, v in self.qbias.items()}
        np.savez(buf, **{k: getattr(self, k) for k in FLOAT_ARRAYS[:-1]}, Ob=np.float32(self.Ob),
                 **self.quantised(), **qbias, meta=np.array(json.dumps(meta, sort_keys=True)))
        write_bytes(path, buf.getvalue())
        return path


def load_nnue(path) -> NNUEWeights:
    """Read an NNUE file; ``ValueError`` naming the file for anything it cannot use."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"nnue {str(path)!r}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"nnue {str(path)!r}: not an NNUE file ({e})") from None
    if "meta" not in arrays:
        raise ValueError(f"nnue {str(path)!r}: no metadata (not an NNUE file)")
    meta = json.loads(str(arrays["meta"]))
    check_feature_set(meta.get("feature_set"), f"nnue {str(path)!r}")
    missing = [k for k in FLOAT_ARRAYS if k not in arrays]
    if missing:
        raise ValueError(f"nnue {str(path)!r}: missing arrays {missing}")
    try:
        return NNUEWeights(board=meta["board"], **{k: arrays[k] for k in FLOAT_ARRAYS[:-1]},
                           Ob=float(arrays["Ob"]), meta=meta, pairwise=bool(meta.get("pairwise", False)),
                           qbias={k[len("qbias_"):]: arrays[k] for k in arrays if k.startswith("qbias_")})
    except ValueError as e:
        raise ValueError(f"nnue {str(path)!r}: {e}") from None


__all__ = ["NNUEWeights", "WEIGHT_BOUND", "head_divisors", "load_nnue"]
