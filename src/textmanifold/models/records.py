"""The typed records of a run directory: the model configs and ``run.json``.

open_clip's layout: a config dataclass per model family and one factory that builds a
model from a config (:func:`textmanifold.models.factory.build_model`), used alike by
training and by :func:`~textmanifold.models.runs.load_run`.

``run.json`` (sorted keys, see :func:`textmanifold.io.write_json`)::

    format       1 (RUN_FORMAT)
    kind         "joint" or "compose"
    collection   the Collection's absolute directory
    model        JointModelConfig or ComposeModelConfig (to_json)
    data         DataRecord: split, examples, fingerprint[, held_out][, joint_term_pool]
    train        TrainSettings, ``threads`` resolved

:meth:`RunRecord.from_json` checks every key and type and names the file and the key of
what is wrong (:class:`~textmanifold.errors.DataFormatError`). A key that older runs lack
takes the value those runs were trained with: ``learn_scale`` and ``balanced_init`` (both
added with TIRG-conv) False, a training setting its :class:`TrainSettings` default.
"""

from __future__ import annotations

import os
import typing
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from ..errors import DataFormatError, InputError
from .compose import BALANCED_INIT, METHODS
from .train import TrainSettings

__all__ = [
    "RUN_FORMAT",
    "RUN_KINDS",
    "ComposeModelConfig",
    "DataRecord",
    "JointModelConfig",
    "ModelConfig",
    "RunRecord",
]

RUN_FORMAT = 1
RUN_KINDS = ("joint", "compose")

_MISSING = object()
_TYPE_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "an object",
    type(None): "null",
}


def _type_name(types: tuple) -> str:
    return " or ".join(_TYPE_NAMES[t] for t in types)


def _get(data: dict, key: str, types: tuple, path, where: str, default: Any = _MISSING):
    """``data[key]`` checked to be one of ``types`` (a bool is no integer; an integer is a
    number); missing, ``default`` or a :class:`DataFormatError` naming file and key."""
    name = f"{where}.{key}" if where else key
    if key not in data:
        if default is _MISSING:
            raise DataFormatError(f"{path}: {name} is missing")
        return default
    value = data[key]
    ok = any(
        isinstance(value, t) and not (t in (int, float) and isinstance(value, bool)) for t in types
    ) or (float in types and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        raise DataFormatError(
            f"{path}: {name} must be {_type_name(types)}, not {type(value).__name__} {value!r}"
        )
    return float(value) if types == (float,) else value


def _section(data: dict, key: str, path) -> dict:
    return _get(data, key, (dict,), path, "")


def _no_extra(data: dict, known, path, where: str) -> None:
    extra = sorted(set(data) - set(known))
    if extra:
        name = f"{where}.{extra[0]}" if where else extra[0]
        raise DataFormatError(
            f"{path}: {name} is not a known key (known: {', '.join(sorted(known))})"
        )


# ----------------------------------------------------------------------------- models


@dataclass(frozen=True)
class JointModelConfig:
    """The joint model's shape (:class:`~textmanifold.models.joint.JointModel`).

    ``weights``: the ResNet-18's initial weights (None, "imagenet" or a file);
    ``text_model``: the sentence-transformers directory (None: the bundled MiniLM) whose
    ``text_dim``-wide sentences the text branch reads.
    """

    text_dim: int
    dim: int = 512
    weights: str | None = None
    text_model: str | None = None

    kind: ClassVar[str] = "joint"

    def to_json(self) -> dict:
        return {
            "dim": self.dim,
            "weights": self.weights,
            "text_model": self.text_model,
            "text_dim": self.text_dim,
        }

    @classmethod
    def from_json(cls, data: dict, path: str | os.PathLike = "run.json") -> JointModelConfig:
        w = "model"
        _no_extra(data, ("dim", "weights", "text_model", "text_dim"), path, w)
        return cls(
            text_dim=_get(data, "text_dim", (int,), path, w),
            dim=_get(data, "dim", (int,), path, w),
            weights=_get(data, "weights", (str, type(None)), path, w),
            text_model=_get(data, "text_model", (str, type(None)), path, w),
        )


@dataclass(frozen=True)
class ComposeModelConfig:
    """A composed-retrieval model's shape (:class:`~textmanifold.models.compose.ComposeModel`;
    its parameters, with ``vocab_size`` the size of the run's vocabulary)."""

    method: str
    vocab_size: int
    in_joint: bool = False
    dim: int = 512
    weights: str | None = None
    relation_hidden: int = 256
    learn_scale: bool = False
    balanced_init: bool = BALANCED_INIT

    kind: ClassVar[str] = "compose"

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "in_joint": self.in_joint,
            "dim": self.dim,
            "weights": self.weights,
            "relation_hidden": self.relation_hidden,
            "vocab_size": self.vocab_size,
            "learn_scale": self.learn_scale,
            "balanced_init": self.balanced_init,
        }

    @classmethod
    def from_json(cls, data: dict, path: str | os.PathLike = "run.json") -> ComposeModelConfig:
        w = "model"
        _no_extra(data, [f.name for f in fields(cls)], path, w)
        method = _get(data, "method", (str,), path, w)
        if method not in METHODS:
            raise DataFormatError(
                f"{path}: model.method must be one of {', '.join(METHODS)}, not {method!r}"
            )
        return cls(
            method=method,
            vocab_size=_get(data, "vocab_size", (int,), path, w),
            in_joint=_get(data, "in_joint", (bool,), path, w),
            dim=_get(data, "dim", (int,), path, w),
            weights=_get(data, "weights", (str, type(None)), path, w),
            relation_hidden=_get(data, "relation_hidden", (int,), path, w),
            # runs made before these options existed were trained without them
            learn_scale=_get(data, "learn_scale", (bool,), path, w, False),
            balanced_init=_get(data, "balanced_init", (bool,), path, w, False),
        )


ModelConfig = JointModelConfig | ComposeModelConfig
_MODEL_CONFIGS: dict[str, type] = {"joint": JointModelConfig, "compose": ComposeModelConfig}


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataRecord:
    """What a run was trained on: ``split`` (None: every image), ``examples`` training
    rows, the ``fingerprint`` of the data, ``held_out`` validation rows (absent when 0:
    runs made before validation existed still resume) and, compose runs in Joint, the
    ``joint_term_pool`` of described images."""

    split: str | None
    examples: int
    fingerprint: str
    held_out: int | None = None
    joint_term_pool: int | None = None

    def to_json(self) -> dict:
        out = {"split": self.split, "examples": self.examples, "fingerprint": self.fingerprint}
        for key in ("joint_term_pool", "held_out"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_json(cls, data: dict, path: str | os.PathLike = "run.json") -> DataRecord:
        w = "data"
        _no_extra(data, [f.name for f in fields(cls)], path, w)
        return cls(
            split=_get(data, "split", (str, type(None)), path, w),
            examples=_get(data, "examples", (int,), path, w),
            fingerprint=_get(data, "fingerprint", (str,), path, w),
            held_out=_get(data, "held_out", (int,), path, w, None),
            joint_term_pool=_get(data, "joint_term_pool", (int,), path, w, None),
        )


# ----------------------------------------------------------------------------- run.json


def _settings_from_json(data: dict, path) -> TrainSettings:
    hints = typing.get_type_hints(TrainSettings)
    known = [f.name for f in fields(TrainSettings)]
    _no_extra(data, known, path, "train")
    defaults = TrainSettings()  # a run made before a setting existed had its default
    values = {}
    for name in known:
        kind = hints[name]
        values[name] = _get(data, name, (kind,), path, "train", getattr(defaults, name))
    return TrainSettings(**values)


@dataclass(frozen=True)
class RunRecord:
    """A run's ``run.json``, typed (see the module docstring for the layout)."""

    kind: str
    collection: str
    model: ModelConfig
    data: DataRecord
    train: TrainSettings
    format: int = RUN_FORMAT

    def __post_init__(self) -> None:
        if self.kind not in RUN_KINDS:
            raise InputError(f"unknown run kind {self.kind!r}")
        if self.model.kind != self.kind:
            raise InputError(f"a {self.kind} run cannot hold a {type(self.model).__name__}")

    @classmethod
    def new(
        cls,
        model: ModelConfig,
        collection: str | os.PathLike,
        data: DataRecord,
        settings: TrainSettings,
    ) -> RunRecord:
        """The record of a run about to train: ``collection`` resolved, ``threads`` the
        count the training will use (a run's bytes depend on it)."""
        return cls(
            kind=model.kind,
            collection=str(Path(collection).resolve()),
            model=model,
            data=data,
            train=replace(settings, threads=settings.thread_count()),
        )

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "kind": self.kind,
            "collection": self.collection,
            "model": self.model.to_json(),
            "data": self.data.to_json(),
            "train": asdict(self.train),
        }

    @classmethod
    def from_json(cls, data: Any, path: str | os.PathLike = "run.json") -> RunRecord:
        """Check ``data`` (the parsed ``run.json`` at ``path``) and type it.

        Raises
        ------
        InputError
            Not a run of :data:`RUN_FORMAT`, or of an unknown kind.
        DataFormatError
            A key is missing, unknown or of the wrong type (the message names it).
        """
        if (
            not isinstance(data, dict)
            or type(data.get("format")) is not int
            or data["format"] != RUN_FORMAT
        ):
            raise InputError(f"{path}: not a textmanifold run of format {RUN_FORMAT}")
        kind = data.get("kind")
        if kind not in RUN_KINDS:
            raise InputError(f"{path}: unknown run kind {kind!r}")
        _no_extra(data, ("format", "kind", "collection", "model", "data", "train"), path, "")
        model = _MODEL_CONFIGS[kind].from_json(_section(data, "model", path), path)
        return cls(
            kind=kind,
            collection=_get(data, "collection", (str,), path, ""),
            model=model,
            data=DataRecord.from_json(_section(data, "data", path), path),
            train=_settings_from_json(_section(data, "train", path), path),
        )
