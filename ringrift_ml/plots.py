"""The pipeline's figures, drawn with matplotlib: the loop's rating against CPU hours,
CMA-ES's score by generation.

Every figure has labelled axes with ticks and ±1 standard error bars (the ladder's
maximum-likelihood fit gives one per entrant, relative to ``random`` = 0; CMA-ES's
population gives one per generation's mean), and is written atomically (an SVG by default, a PNG when the path
says so).  Matplotlib is imported here only, with the non-interactive Agg backend, so
a loop on a headless machine never needs a display.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

from .atomic import write_bytes

ROLLED_BACK_COLOUR = "#d62728"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, small
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "svg", bbox_inches="tight", dpi=120)
    write_bytes(path, buf.getvalue())
    return path


def _generations(table: list) -> list:
    return sorted((r for r in table if r.get("generation") is not None and r.get("cpu_hours") is not None),
                  key=lambda r: r["cpu_hours"])


def ladder_plot(table: list, title: str, path: Path) -> Path:
    """One partition's ladder (``ladder.ladder_table`` rows): each rated generation at
    the loop's cumulative CPU hours with ±1 SE, rolled-back ones in red, and the
    baselines as dashed lines with their ±1 SE band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    gens = _generations(table)
    if gens:
        ax.plot([r["cpu_hours"] for r in gens], [r["elo"] for r in gens], color="#1f77b4", lw=1.5, zorder=2)
        for r in gens:
            colour = ROLLED_BACK_COLOUR if r["status"] == "rolled_back" else "#1f77b4"
            ax.errorbar(r["cpu_hours"], r["elo"], yerr=r["se"], fmt="o", color=colour, capsize=3, zorder=3)
            ax.annotate(r["name"], (r["cpu_hours"], r["elo"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    for r in (r for r in table if r.get("generation") is None):
        ax.axhline(r["elo"], color="#888888", ls="--", lw=1, zorder=1)
        ax.axhspan(r["elo"] - r["se"], r["elo"] + r["se"], color="#888888", alpha=0.12, zorder=0)
        ax.annotate(r["name"], (1.0, r["elo"]), xycoords=("axes fraction", "data"), textcoords="offset points",
                    xytext=(3, -3), fontsize=8, color="#555555")
    ax.set_xlabel("loop CPU hours (cumulative)")
    ax.set_ylabel("Elo (random = 0), ±1 SE")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if not gens:
        ax.set_xlim(0, 1)
    out = _save(fig, path)
    plt.close(fig)
    return out


def runs_plot(runs: dict, title: str, path: Path, baseline: Optional[dict] = None) -> Path:
    """Several loop runs of one partition on one plot: ``{label: ladder table}``; each
    run's generations (Elo ±1 SE against its cumulative CPU hours) as a line.  Ratings
    of different runs share the anchor ``random`` = 0; ``baseline``: ``{name: elo}``
    drawn as dashed lines (e.g. the median of the runs' ``heuristic``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, table in sorted(runs.items()):
        gens = _generations(table)
        if not gens:
            continue
        ax.errorbar([r["cpu_hours"] for r in gens], [r["elo"] for r in gens], yerr=[r["se"] for r in gens],
                    fmt="o-", capsize=3, ms=4, lw=1.2, label=label)
    for name, elo in sorted((baseline or {}).items()):
        ax.axhline(elo, color="#888888", ls="--", lw=1)
        ax.annotate(name, (1.0, elo), xycoords=("axes fraction", "data"), textcoords="offset points",
                    xytext=(3, -3), fontsize=8, color="#555555")
    ax.set_xlabel("loop CPU hours (cumulative)")
    ax.set_ylabel("Elo (random = 0), ±1 SE")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # only runs with rated generations have a line
        ax.legend(fontsize=8, loc="lower right")
    out = _save(fig, path)
    plt.close(fig)
    return out


def tuning_plot(history: list, title: str, path: Path) -> Path:
    """CMA-ES by generation (``tuning.tune``'s history): the population's mean score
    with ±1 SE (its standard deviation over the square root of the population; absent
    for a history without it) and the best candidate's score."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    gens = [h["generation"] for h in history]
    ax.errorbar(gens, [h["mean_score"] for h in history], yerr=[h.get("mean_score_se") or 0.0 for h in history],
                fmt="o-", color="#7f7f7f", capsize=3, ms=4, label="population mean ±1 SE")
    ax.plot(gens, [h["best_score"] for h in history], "s-", color="#1f77b4", ms=4, label="best candidate")
    ax.set_xlabel("CMA-ES generation")
    ax.set_ylabel("score (0-1)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    out = _save(fig, path)
    plt.close(fig)
    return out


__all__ = ["ladder_plot", "runs_plot", "tuning_plot"]
