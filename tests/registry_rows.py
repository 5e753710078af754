"""Hand-made ``lake.model_registry`` rows for tests that need a registry without
training a network."""


def write_registry(store, gens, board="square8", players=2, path="models/g{g}.pt", status="promoted",
                   cpu_seconds=3600.0) -> list:
    """One row per generation in ``gens`` (model id ``m<g>``, no parent), written as one
    registry commit; returns the rows."""
    from ringrift_ml.lake.lineage import record_row

    rows = [{"board": board, "players": players, "generation": g, "model_id": f"m{g}", "parent_id": None,
             "path": path.format(g=g), "sample_set_id": None, "window": [], "selfplay_games": 1, "status": status,
             "reason": "test", "gate": {}, "rating": None, "rating_se": None, "cpu_seconds": cpu_seconds,
             "wall_seconds": 1.0, "config": {}} for g in gens]
    record_row(store, "model_registry", rows, "test registry")
    return rows
