"""What a user sees: the Dagster UI, rendered by headless Chromium, shows the alerting
checks on the assets with their verdicts (a freshness check that failed on the landed
files, the divergence check that failed on a diverging candidate).

The webserver runs the real code location (``ringrift_assets``) on an instance whose
check evaluations were recorded here first; Chromium renders each asset's Checks tab and
the test reads the rendered page (``--dump-dom``), and saves a screenshot beside it."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import dagster as dg
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (CI installs Debian's chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _render(url: str, screenshot) -> str:
    """The page's DOM after its scripts ran (and a screenshot of it)."""
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
            "--window-size=1400,900"]
    subprocess.run(base + [f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=True)
    return subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout


def _record_failed_checks(storage, instance):
    """A diverging candidate in ``storage`` and a stale landed-files asset, both judged."""
    torch = pytest.importorskip("torch")
    from ringrift_assets.alerts import build_freshness_checks, candidate_model_divergence, divergence_result
    from ringrift_ml.lake.layout import Layout, Partition
    from ringrift_ml.nn.checkpoint import save_net
    from ringrift_ml.nn.net import RingNet, net_config

    torch.manual_seed(0)
    history = [{"epoch": i, "heldout": {"loss": x}} for i, x in enumerate([2.0, 1.8, 1.9, 2.1, 2.4])]
    save_net(RingNet(net_config("square8", "tiny")), Layout(storage).generation_dir(Partition("square8", 2), 0)
             / "model.pt", {}, {"history": history})
    # The check's own verdict on that candidate, recorded as Dagster records a check's run.
    result = divergence_result(Layout(storage), Partition("square8", 2))
    assert not result.passed
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("candidate_model"), check_name=candidate_model_divergence.check_key.name, passed=False,
        description=result.description, metadata=result.metadata, partition="square8|2"))
    # The same check key as the code location's, judged with a one-second bound.
    instance.report_runless_asset_event(dg.AssetMaterialization("landed_files", partition="square8|2"))
    time.sleep(1.2)
    stale = build_freshness_checks(1 / 3600, assets=[dg.AssetKey("landed_files")])
    r = dg.materialize(stale, instance=instance, selection=dg.AssetSelection.all_asset_checks())
    assert [e.passed for e in r.get_asset_check_evaluations()] == [False]


def test_the_ui_shows_the_alerting_checks_and_their_verdicts(tmp_path):
    home, storage, shots = tmp_path / "dagster_home", tmp_path / "storage", tmp_path / "screens"
    for d in (home, storage, shots):
        d.mkdir()
    # No onboarding dialog over the page, no telemetry.
    (home / "dagster.yaml").write_text("nux:\n  enabled: false\ntelemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "RINGRIFT_STORAGE": str(storage)}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _record_failed_checks(storage, instance)
    port = _free_port()
    web = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-m", "ringrift_assets", "-h", "127.0.0.1",
                            "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("dagster-webserver did not answer within two minutes")
        landed = _render(url + "/assets/landed_files?view=checks", shots / "landed_files_checks.png")
        assert "freshness_check" in landed and "Failed" in landed
        assert "Asset is overdue for an update" in landed  # the check's own explanation, on the page
        selfplay = _render(url + "/assets/selfplay_games?view=checks", shots / "selfplay_games_checks.png")
        assert "freshness_check" in selfplay and "Not evaluated" in selfplay.replace("Not Evaluated", "Not evaluated")
        cand = _render(url + "/assets/candidate_model?view=checks", shots / "candidate_model_checks.png")
        assert "candidate_model_divergence" in cand and "candidate_model_sanity" in cand
        assert "rose in each of the last 3 epochs" in cand  # the failed evaluation's description
        assert "Join the Dagster community" not in cand
        assert all((shots / p).stat().st_size > 10_000 for p in os.listdir(shots))
    finally:
        web.terminate()
        web.wait(timeout=30)
