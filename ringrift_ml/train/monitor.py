"""Making training visible: TensorBoard event files and Prometheus metrics.

* TensorBoard: one event directory per run (``<out>/tensorboard``) with every loss term
  (train and held-out), the learning rate, calibration and throughput per epoch.
  ``tensorboard --logdir <out>`` shows them.
* Prometheus: ``ringrift_training_loss{split,term}``, ``ringrift_training_epochs_total``,
  ``ringrift_training_samples_total``, ``ringrift_calibration_ece``,
  ``ringrift_calibration_mce`` and ``ringrift_training_epoch_duration_seconds``
  (histogram), served on ``port`` when one is given (``TrainConfig.prometheus_port``).
  Each monitor has its own registry, so several runs in one process do not collide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional


class Monitor:
    def __init__(self, out: Optional[Path], tensorboard: bool, port: int = 0, labels: Optional[dict] = None):
        self.writer = None
        if tensorboard and out is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(out) / "tensorboard"))
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.labels = labels or {}
        names = sorted(self.labels)
        self.loss = Gauge("ringrift_training_loss", "Loss of the last epoch", names + ["split", "term"],
                          registry=self.registry)
        self.epochs = Counter("ringrift_training_epochs", "Epochs finished", names, registry=self.registry)
        self.samples = Counter("ringrift_training_samples", "Training samples processed", names,
                               registry=self.registry)
        self.ece = Gauge("ringrift_calibration_ece", "Held-out value ECE", names, registry=self.registry)
        self.mce = Gauge("ringrift_calibration_mce", "Held-out value MCE", names, registry=self.registry)
        self.duration = Histogram("ringrift_training_epoch_duration_seconds", "Wall time per epoch", names,
                                  buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600), registry=self.registry)
        self.server = None
        if port:
            from prometheus_client import start_http_server

            self.server = start_http_server(port, registry=self.registry)

    def _l(self, metric, **extra):
        return metric.labels(**self.labels, **extra) if (self.labels or extra) else metric

    def step(self, step: int, lr: float, loss: float, samples: int) -> None:
        self._l(self.samples).inc(samples)
        if self.writer is not None and step % 10 == 0:
            self.writer.add_scalar("train/step_loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)

    def epoch(self, epoch: int, train: dict, held: dict, seconds: float, samples_per_s: float) -> None:
        for term, v in train.items():
            self._l(self.loss, split="train", term=term).set(v)
        for term in ("loss", "policy_loss", "value_loss", "ownership_loss", "score_loss"):
            self._l(self.loss, split="heldout", term=term).set(held[term])
        self._l(self.epochs).inc()
        self._l(self.duration).observe(seconds)
        if "value_ece" in held:
            self._l(self.ece).set(held["value_ece"])
            self._l(self.mce).set(held["value_mce"])
        if self.writer is None:
            return
        w = self.writer
        for term, v in train.items():
            w.add_scalar(f"train/{term}", v, epoch)
        for k in ("loss", "policy_loss", "value_loss", "ownership_loss", "score_loss", "policy_ce_uniform",
                  "policy_target_entropy", "policy_gap_closed", "value_mse_zero", "top1", "top1_uniform", "value_ece", "value_mce", "value_ece_scaled",
                  "value_temperature"):
            if k in held:
                w.add_scalar(f"heldout/{k}", held[k], epoch)
        w.add_scalar("speed/samples_per_second", samples_per_s, epoch)
        w.add_scalar("speed/epoch_seconds", seconds, epoch)
        w.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            server, thread = self.server
            server.shutdown()
            thread.join(timeout=5)


__all__ = ["Monitor"]
