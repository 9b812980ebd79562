"""Figures: path strips (the paper's Fig. 1), neighbour examples (Fig. 3), curves
against the graph threshold and learning curves, saved reproducibly (Agg, no timestamp).

Layer 5 of ``docs/architecture.md``: matplotlib on arrays and graphs, built on
:mod:`textmanifold.manifold`. The public names load on first use (matplotlib with them).
"""

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "curves": ("plot_curves", "plot_degree_vs_threshold", "plot_retrievable_vs_threshold"),
        "examples": ("find_smooth_paths", "neighbour_examples", "vertex_tile"),
        "learning": ("plot_learning_curves",),
        "output": ("new_figure", "save_png"),
        "tiles": ("Tile", "plot_neighbour_examples", "plot_path_strips", "plot_tile_rows"),
    },
)
