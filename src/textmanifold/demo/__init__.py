"""``textmanifold demo``: the paper's experiments end to end on generated data.

Stages, each cached in the run directory (``stages/<name>.json`` marks it done and holds
its wall time and results)::

    cci              generate CLEVR-Change-Iterative (depth 3; --full: 4)
    classes          generate the scene-category set (label retrieval)
    train_joint      train the joint model (Eq. 1) on each of the two sets, per seed
    train_compose    train the compositors, plain and in Joint (Eq. 2), on CCI, per seed
    embed            export image, text and pretrained-image embeddings
    align            ICP: rotate the image cloud onto the text cloud (Algorithm 1)
    graphs           pick five thresholds, build the CCI graphs (image / + random / + text)
    label_retrieval  Table 1 rows A-F on the category set, retrievable-vs-threshold curves
    smooth_paths     Table 3: smooth shortest paths on the CCI graphs
    composed         Table 4: R@1, R@10, R@50 of the compositors on CCI test pairs
    figures          path strips (Fig. 1), neighbour examples (Fig. 3), curves,
                     learning curves of every model
    index            a search index of the first seed's CCI joint run
    report           report/report.{md,json}, report/index.html: every table averaged
                     over the training seeds, each claim a mean +/- SE with its verdict

Every stage from train_joint to composed runs once per training seed
(``DemoConfig.training_seeds``, the data fixed) and stores each seed's part as it ends.

``resume`` skips done stages, and an interrupted stage continues where its own work
allows (images on disk are kept, training continues from its checkpoint). The package
reads one way: :mod:`.config` (settings) <- :mod:`.layout` (the run directory) <-
:mod:`.tables` (one seed's tables) <- :mod:`.training` (one seed's models) <-
:mod:`.over_seeds` (the tables over seeds) <- :mod:`.figures` <- :mod:`.stages` (the
ordered stage table) <- :mod:`.runner`.
"""

from .config import DemoConfig, default_config, full_config, reproduce_config, tiny_config
from .layout import OWNED, Demo
from .runner import run_demo
from .stages import STAGE_TABLE, STAGES

__all__ = [
    "OWNED",
    "STAGES",
    "STAGE_TABLE",
    "Demo",
    "DemoConfig",
    "default_config",
    "full_config",
    "reproduce_config",
    "run_demo",
    "tiny_config",
]
