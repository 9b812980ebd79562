"""The learning half: encoders, the joint model (Eq. 1), compositors (Eq. 2), training.

Modules (import them directly; this package imports nothing so that importing it is cheap):

- :mod:`~textmanifold.models.encoders`: ``ImageEncoder`` (ResNet-18), ``LSTMTextEncoder``,
  ``Vocabulary``; ``SentenceTextEncoder`` from :mod:`~textmanifold.models.sentence`.
- :mod:`~textmanifold.models.loss`: ``info_nce`` (Eq. 1), ``l2_normalize``.
- :mod:`~textmanifold.models.joint`: ``JointModel``, ``Projection`` (g), ``TextHead``.
- :mod:`~textmanifold.models.compose`: ``TIRG``, ``Relation``, ``InJoint``,
  ``ComposeModel`` (Eq. 2).
- :mod:`~textmanifold.models.data`: image decoding and the resumable batch order.
- :mod:`~textmanifold.models.train`: ``TrainSettings`` and the training loop ``fit``.
- :mod:`~textmanifold.models.runs`: ``train_joint``, ``train_compose``, ``load_run``.
- :mod:`~textmanifold.models.embed`: ``embed_joint_run``, ``evaluate_compose_run``.
"""
