"""The paper's experiments as numbers: label retrieval (Table 1), smooth paths
(Table 3), R@K of composed retrieval (Table 4), verdicts and the report.

Layer 5 of ``docs/architecture.md``: numpy / scipy on embeddings and graphs, built on
:mod:`textmanifold.manifold`; it never imports :mod:`textmanifold.models` (training
ranks held-out queries with :mod:`textmanifold.ranking`, which this package re-exports
as :mod:`.recall`). The public names load on first use.
"""

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "fewshot": ("FewShotSplit", "label_sets", "primary_labels", "sample_targets"),
        "label_draws": ("label_retrieval_draws", "mean_se", "summarize_draws"),
        "label_retrieval": (
            "COLUMNS",
            "label_retrieval_table",
            "rows_for_images",
            "table_to_markdown",
            "write_table",
        ),
        "paper_numbers": ("TABLE1", "TABLE3", "TABLE4"),
        "path_count": ("PathCount", "smooth_path_count"),
        "recall": ("recall_at_k", "target_ranks"),
        "report": ("build_report", "write_report"),
        "retrievability": ("retrievable_count", "retrievable_curves"),
        "seeds": ("over_seeds", "seed_sentence", "verdict_word"),
        "smooth_path_table": ("build_graphs", "smooth_path_rows", "vertex_sets"),
    },
)
