"""The NNUE: an evaluator for alpha-beta search whose first layer is an accumulator
updated by the cells a move changes, run in quantised integers in compiled code.

* :mod:`.features`: the sparse per-cell features of each seat's perspective and the
  dense globals, with the feature set's name and hash;
* :mod:`ringrift_ml.ai._k_nnue`: the compiled accumulator (refresh and incremental update) and heads;
* :mod:`.model`: the weights, their quantisation and the file;
* :mod:`.calibrate`: bias correction of the quantised head, measured on positions;
* :mod:`.evaluator`: :class:`NNUEEvaluator` (the search evaluator protocol);
* :mod:`.players`: ``minimax-nnue:<file>[:nodes]`` and ``descent-nnue:<file>[:nodes]``.

Training (PyTorch) is :mod:`ringrift_ml.train.nnue`, the distillation from the lake and
the best network :mod:`ringrift_ml.distill`; nothing here imports torch.
"""

from .evaluator import NNUEEvaluator
from .features import FEATURE_SET
from .model import NNUEWeights, load_nnue

__all__ = ["FEATURE_SET", "NNUEEvaluator", "NNUEWeights", "load_nnue"]
