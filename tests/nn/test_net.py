"""The network's pooling: the unmasked mean and max equal the board-masked ones."""

import pytest
import torch

from ringrift_ml.nn import net as net_mod
from ringrift_ml.nn.features import FEATURES
from ringrift_ml.nn.grid import grid_for


def _masked_pool(mask):
    def pool(x, count):
        mean = (x * mask).sum(dim=(2, 3)) / count
        mx = x.masked_fill(mask == 0, float("-inf")).amax(dim=(2, 3))
        return torch.cat([mean, mx], dim=1)
    return pool


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_pooling_without_the_mask_gives_the_masked_forward_pass(board, monkeypatch):
    """Every pooled tensor is a ReLU output times the board mask, so pooling over the
    whole grid equals pooling over the board's cells (hex8 has off-board grid points;
    the inputs carry noise there, which the stem's mask must remove)."""
    torch.manual_seed(0)
    net = net_mod.RingNet(net_mod.net_config(board, "tiny")).eval()
    grid = grid_for(board)
    planes = torch.rand(3, FEATURES.n_planes, *grid.valid.shape)
    glob = torch.rand(3, FEATURES.n_globals)
    with torch.no_grad():
        fast = net(planes, glob)
        mask = net.board_mask.to(planes.dtype)
        monkeypatch.setattr(net_mod, "_pool", _masked_pool(mask))
        ref = net(planes, glob)
    if board == "hex8":
        assert (mask == 0).any()
    for k in ("policy", "value", "score", "ownership"):
        assert torch.allclose(fast[k], ref[k], atol=1e-6), k


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_folded_batch_norms_compute_the_same_function(board):
    """``folded`` (inference copy) equals the network in eval mode, with batch-norm
    statistics far from the identity, and leaves the original's modules alone."""
    torch.manual_seed(1)
    net = net_mod.RingNet(net_mod.net_config(board, "tiny"))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.2, 3)
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-1, 1)
    net.eval()
    fold = net_mod.folded(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fold.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 2 + 2 * len(net.blocks)
    grid = grid_for(board)
    planes = torch.rand(4, FEATURES.n_planes, *grid.valid.shape)
    glob = torch.rand(4, FEATURES.n_globals)
    with torch.no_grad():
        a, b = net(planes, glob), fold(planes, glob)
    for k in ("policy", "value", "score", "ownership"):
        assert torch.allclose(a[k], b[k], atol=1e-4, rtol=1e-4), (k, (a[k] - b[k]).abs().max())


def test_value_trunk_grad_scales_only_the_value_heads_gradient_into_the_trunk():
    """``value_trunk_grad`` leaves every output as it is; the trunk's gradient from the
    value loss is that share of the ordinary one (none at 0), the value head's own
    gradient and the policy's gradient into the trunk are untouched."""
    torch.manual_seed(2)
    net = net_mod.RingNet(net_mod.net_config("square8", "tiny")).eval()
    grid = grid_for("square8")
    planes = torch.rand(3, FEATURES.n_planes, *grid.valid.shape)
    glob = torch.rand(3, FEATURES.n_globals)
    trunk = net.stem.weight

    def grads(share, head):
        net.zero_grad()
        out = net(planes, glob, value_trunk_grad=share)
        loss = out["value"].pow(2).sum() + out["score"].sum() + out["ownership"].sum() if head == "value" \
            else out["policy"].logsumexp(dim=1).sum()
        loss.backward()
        got = trunk.grad.clone() if trunk.grad is not None else torch.zeros_like(trunk)  # None: no gradient
        return out, got, net.value[0].weight.grad.clone() if head == "value" else None

    full, g_full, head_full = grads(1.0, "value")
    half, g_half, head_half = grads(0.5, "value")
    none, g_none, head_none = grads(0.0, "value")
    for k in ("policy", "value", "score", "ownership"):
        assert torch.equal(full[k], half[k]) and torch.equal(full[k], none[k]), k
    assert g_full.abs().sum() > 0 and torch.count_nonzero(g_none) == 0
    assert torch.allclose(g_half, 0.5 * g_full, atol=1e-6 * g_full.abs().max().item())
    assert torch.allclose(head_half, head_full) and torch.allclose(head_none, head_full)
    _, p_full, _ = grads(1.0, "policy")
    _, p_none, _ = grads(0.0, "policy")
    assert p_full.abs().sum() > 0 and torch.allclose(p_none, p_full)
