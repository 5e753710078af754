"""``torchrun`` DDP on the CPU (gloo) with two processes, through the command line."""

import json
import os
import subprocess
import sys

from ringrift_ml.nn.checkpoint import read_net
from ringrift_ml.train.dataset import save_npz

from .conftest import samples_for


def test_torchrun_two_processes_train_one_model(tmp_path):
    npz = save_npz(samples_for("square8", 2), tmp_path / "s.npz", {})
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "tiny", "epochs": 2, "batch_size": 8, "warmup_steps": 2,
                               "hard_mining": True, "tensorboard": False, "holdout": 0.34, "seed": 3}))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ringrift_ml.cli", "train", "--samples", str(npz), "--out", str(tmp_path / "run"),
           "--config", str(cfg), "--no-progress"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 1, p.stdout  # only rank 0 reports
    _, meta = read_net(tmp_path / "run" / "model.pt")
    d = meta["distributed"]
    assert d["world_size"] == 2 and d["backend"] == "gloo"
    # Every batch was split over the two ranks: the run took the single-process number of steps.
    train, _ = samples_for("square8", 2).split(0.34, 3)
    assert meta["steps"] == 2 * -(-len(train) // 8)
