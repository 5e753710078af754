"""Value-head calibration: the report on predictors of known calibration, and its diagram."""

import numpy as np
import pytest

from ringrift_ml.train.calibration import calibration_report, reliability_png


def test_calibration_of_known_predictors():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, 20000)
    p = 1 / (1 + np.exp(-2 * z))
    outcome = np.where(rng.random(len(z)) < p, 1.0, -1.0)  # outcomes drawn from the prediction
    good = calibration_report(z, outcome)
    assert good["ece"] < 0.02 and abs(good["temperature"] - 1) < 0.1
    over = calibration_report(3 * z, outcome)  # three times too sure
    assert over["ece"] > 0.1 and over["overconfidence"] > 0.05
    assert abs(over["temperature"] - 3) < 0.3 and not over["temperature_at_bound"]
    wild = calibration_report(1000 * z, outcome)
    assert wild["temperature_at_bound"]
    with pytest.raises(ValueError, match="no held-out"):
        calibration_report(np.zeros(0), np.zeros(0))


def test_reliability_diagram_is_a_png(tmp_path):
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, 500)
    rep = calibration_report(z, np.where(rng.random(len(z)) < 0.5, 1.0, -1.0))
    assert rep["n"] == 500 and 0 <= rep["ece"] <= rep["mce"] <= 1
    assert reliability_png(rep, tmp_path / "r.png", "t").read_bytes()[:4] == b"\x89PNG"
