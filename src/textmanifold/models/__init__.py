"""The learning half: encoders, the joint model (Eq. 1), compositors (Eq. 2), training.

Layer 4 of ``docs/architecture.md``: torch on Collections. It imports the foundation
and :mod:`textmanifold.collection` only, never :mod:`textmanifold.engines` or
:mod:`textmanifold.evaluate` above it: data-parallel training is its own
:mod:`.distributed` (the loss is told ``rank`` and ``world_size``), held-out recall
ranks with :mod:`textmanifold.ranking`. The public names load on first use, so that
importing the package (or :mod:`.curves`) does not import torch.

- :mod:`.encoders`: ``ImageEncoder`` (ResNet-18), ``LSTMTextEncoder``, ``Vocabulary``;
  ``SentenceTextEncoder`` from :mod:`.sentence`.
- :mod:`.loss`: ``info_nce`` (Eq. 1), ``l2_normalize``.
- :mod:`.joint`: ``JointModel``, ``Projection`` (g), ``TextHead``.
- :mod:`.compose`: ``TIRG``, ``Relation``, ``InJoint``, ``ComposeModel`` (Eq. 2).
- :mod:`.data`, :mod:`.batches`: image decoding, the resumable batch order, batch makers.
- :mod:`.train`, :mod:`.curves`, :mod:`.validation`: ``TrainSettings``, the loop ``fit``,
  the held-out curve and its early stop; :mod:`.checkpoints`: the checkpoint file.
- :mod:`.distributed`: DistributedDataParallel under ``torchrun``.
- :mod:`.records`, :mod:`.factory`: the typed ``run.json`` (``RunRecord``) and model
  configs (``JointModelConfig``, ``ComposeModelConfig``); ``build_model`` (one factory
  for training and loading).
- :mod:`.runs`: ``train_joint``, ``train_compose``; :mod:`.loading`: ``load_run``.
- :mod:`.embed`: ``embed_joint_run``, ``evaluate_compose_run``.
"""

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "compose": ("BALANCED_INIT", "METHODS", "ComposeModel", "InJoint", "Relation"),
        "embed": ("embed_joint_run", "evaluate_compose_run"),
        "encoders": ("ImageEncoder", "LSTMTextEncoder", "Vocabulary"),
        "factory": ("build_model",),
        "joint": ("JointModel", "Projection", "TextHead"),
        "loading": ("Run", "load_run", "read_run_record"),
        "loss": ("info_nce", "l2_normalize"),
        "records": ("ComposeModelConfig", "DataRecord", "JointModelConfig", "RunRecord"),
        "runs": ("train_compose", "train_joint"),
        "sentence": ("SentenceTextEncoder",),
        "tirg": ("TIRG", "TIRGConv"),
        "train": ("TrainResult", "TrainSettings", "fit"),
    },
)
