import pytest

from ringrift_ml.selfplay import SelfplayConfig, run_selfplay


@pytest.fixture(scope="session")
def sq8_records():
    """Four short square8 2p games (heuristic vs random: fast, decisive)."""
    return run_selfplay(SelfplayConfig(board="square8", players=("heuristic", "random"), games=4, seed=11),
                        progress=False)


@pytest.fixture(scope="session")
def hex8_records():
    return run_selfplay(SelfplayConfig(board="hex8", players=("random", "heuristic", "random"), games=2, seed=3),
                        progress=False)
