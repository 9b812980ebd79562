"""Learning curves: validation R@1 and loss against training steps, one panel per model,
one line per training seed."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..errors import InputError
from .output import new_figure, save_png

_SEED_COLOURS = ("#1f5fd6", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")


def plot_learning_curves(
    curves: Mapping[str, Mapping[int, Sequence[dict]]], path: str | os.PathLike
) -> None:
    """Save a PNG with, per model, validation R@1 (top) and loss (bottom) against steps.

    Parameters
    ----------
    curves : mapping model name -> mapping training seed -> curve
        A curve is a list of ``{"step": int, "R@1": float in [0, 1], "loss": float}``
        (``train_log.json``'s ``curve``).
    """
    models = [name for name, by_seed in curves.items() if any(by_seed.values())]
    if not models:
        raise InputError("no learning curve to plot (trained without --validation?)")
    fig = new_figure(2.6 * len(models) + 0.6, 4.6)
    for column, name in enumerate(models):
        top = fig.add_subplot(2, len(models), column + 1)
        bottom = fig.add_subplot(2, len(models), len(models) + column + 1, sharex=top)
        for k, (seed, curve) in enumerate(sorted(curves[name].items())):
            steps = [p["step"] for p in curve]
            colour = _SEED_COLOURS[k % len(_SEED_COLOURS)]
            top.plot(
                steps,
                [p["R@1"] for p in curve],
                color=colour,
                marker="o",
                markersize=2.5,
                linewidth=1.2,
                label=f"seed {seed}",
            )
            bottom.plot(steps, [p["loss"] for p in curve], color=colour, linewidth=1.2)
        top.set_title(name, fontsize=9)
        top.set_ylim(0, 1)
        top.grid(True, alpha=0.3)
        bottom.grid(True, alpha=0.3)
        bottom.set_xlabel("step", fontsize=8)
        if column == 0:
            top.set_ylabel("validation R@1", fontsize=8)
            bottom.set_ylabel("validation loss", fontsize=8)
            top.legend(fontsize=7)
    save_png(fig, path)
