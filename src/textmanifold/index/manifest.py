"""``manifest.json`` as a typed record: :class:`IndexManifest`.

The manifest says what an index directory holds (:mod:`.store` lists the files):

::

    format, format_version   "textmanifold-index", 1
    created_by               "textmanifold <version>"
    model                    the run that embeds queries: run, kind, checksum, dim (or null)
    encoder                  a pretrained encoder's spec, with its "kind" (or null)
    seed                     an integer (optional)
    collection, metric       strings (or null)
    dim                      the vectors' width, a positive integer
    threshold                the edge threshold, radians in (0, pi]
    target_degree            the mean degree asked for (or null)
    align                    the ICP map's method, residual, pairs (or null)
    counts                   vertices, images, texts, edges

:meth:`IndexManifest.from_json` checks every field's presence, type and range, and a bad
one is a :class:`~textmanifold.errors.DataFormatError` naming the file and the field;
:meth:`IndexManifest.to_json` gives back the same JSON object (keys this version does not
know are kept; an optional field the file lacks is written as null, ``seed`` left out).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .. import __version__
from ..errors import DataFormatError
from ..validation import is_finite_number

__all__ = ["FORMAT", "FORMAT_VERSION", "REQUIRED", "Counts", "IndexManifest", "created_by"]

FORMAT = "textmanifold-index"
FORMAT_VERSION = 1
#: The fields every manifest has; the others may be missing (read as null).
REQUIRED = ("format", "format_version", "created_by", "model", "dim", "threshold", "counts")


def created_by() -> str:
    """Name this package and its version, as a manifest's ``created_by`` records them."""
    return f"textmanifold {__version__}"


@dataclass(frozen=True)
class Counts:
    """How many vertices (images + texts) and undirected edges an index holds."""

    vertices: int
    images: int
    texts: int
    edges: int

    def to_json(self) -> dict:
        """Return the counts as the JSON object ``manifest.json`` holds."""
        return {
            "vertices": self.vertices,
            "images": self.images,
            "texts": self.texts,
            "edges": self.edges,
        }


@dataclass(frozen=True)
class IndexManifest:
    """The fields of ``manifest.json`` (module docstring); ``extra`` keeps unknown keys."""

    created_by: str
    model: dict | None
    dim: int
    threshold: float
    counts: Counts
    encoder: dict | None = None
    seed: int | None = None
    collection: str | None = None
    target_degree: float | None = None
    metric: str | None = None
    align: dict | None = None
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    @classmethod
    def for_build(
        cls,
        *,
        dim: int,
        threshold: float,
        target_degree=None,
        model=None,
        encoder=None,
        seed: int = 0,
        collection=None,
        aligner=None,
    ) -> IndexManifest:
        """Make a new index's manifest.

        ``collection`` (a path) is recorded resolved, a fitted ``aligner``
        (:class:`~textmanifold.manifold.ICPAligner`) by its residual and pairs; counts are
        zero until the index counts itself.
        """
        return cls(
            created_by=created_by(),
            model=model,
            encoder=encoder,
            seed=seed,
            collection=None if collection is None else str(Path(collection).resolve()),
            dim=int(dim),
            threshold=float(threshold),
            target_degree=target_degree,
            metric="great-circle radians",
            counts=Counts(0, 0, 0, 0),
            align=None
            if aligner is None
            else {"method": "icp-paired", "residual": aligner.residual_, "pairs": aligner.n_pairs_},
        )

    @classmethod
    def from_json(cls, data, source: str | os.PathLike = "manifest.json") -> IndexManifest:
        """Make the record of a parsed ``manifest.json``, every field checked.

        Parameters
        ----------
        data : object
            What the file's JSON decoded to.
        source : path-like
            The file, named in every error.

        Raises
        ------
        DataFormatError
            Not an index manifest, another format version, a required field missing, or
            a field of the wrong type or range (the message names ``source`` and the key).
        """
        path = Path(source)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataFormatError(f"{path}: not a textmanifold index manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise DataFormatError(
                f"{path}: format_version {data.get('format_version')!r} "
                f"is not {FORMAT_VERSION}; rebuild the index"
            )
        for key in REQUIRED:
            if key not in data:
                raise DataFormatError(f"{path}: missing field {key!r}")
        _check_fields(data, path)
        known = {f.name for f in fields(cls)} - {"extra", "counts"}
        counts = Counts(
            **{name: data["counts"][name] for name in ("vertices", "images", "texts", "edges")}
        )
        return cls(
            **{key: copy.deepcopy(data[key]) for key in known if key in data},
            counts=counts,
            extra={
                key: copy.deepcopy(value)
                for key, value in data.items()
                if key not in known and key != "counts"
            },
        )

    def to_json(self) -> dict:
        """Return the JSON object of ``manifest.json`` (a fresh copy: edits change nothing)."""
        out = {
            f.name: copy.deepcopy(getattr(self, f.name))
            for f in fields(self)
            if f.name not in ("extra", "counts")
        }
        if self.seed is None:
            del out["seed"]
        out["counts"] = self.counts.to_json()
        return {**copy.deepcopy(self.extra), **out}

    def with_counts(self, counts: Counts) -> IndexManifest:
        """Return a copy of this manifest with ``counts``."""
        return replace(self, counts=counts)

    @property
    def run(self) -> str | None:
        """The path of the run that embeds queries, if the index records one."""
        return (self.model or {}).get("run")

    def query_kinds(self) -> list[str]:
        """List the queries the index answers.

        Always ``id`` and ``vector``; ``text`` and ``image`` with a run or an encoder that
        embeds them; ``modify`` with a compose run trained in Joint.
        """
        encoder = self.encoder or {}
        kinds = ["id", "vector"]
        if self.run or encoder:
            kinds.append("text")
        if self.run or encoder.get("kind") == "open_clip" or encoder.get("image_function"):
            kinds.append("image")
        if self.run and (self.model or {}).get("kind") == "compose":
            kinds.append("modify")
        return kinds


def _field_error(path: Path, key: str, expected: str, value) -> DataFormatError:
    return DataFormatError(f"{path}: {key!r} must be {expected}, got {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(manifest: dict, path: Path) -> None:
    """Check the types and ranges of the manifest's fields (the keys of :data:`REQUIRED` exist)."""
    _check_scalars(manifest, path)
    _check_model(manifest["model"], path)
    encoder = manifest.get("encoder")
    if encoder is not None and (
        not isinstance(encoder, dict) or not isinstance(encoder.get("kind"), str)
    ):
        raise _field_error(path, "encoder", "null or an object with a 'kind'", encoder)
    _check_counts(manifest["counts"], path)


def _check_scalars(manifest: dict, path: Path) -> None:
    """Check the top-level fields before ``model``: strings, numbers and ``align``."""
    if not isinstance(manifest["created_by"], str):
        raise _field_error(path, "created_by", "a string", manifest["created_by"])
    if not _is_int(manifest["dim"]) or manifest["dim"] < 1:
        raise _field_error(path, "dim", "a positive integer", manifest["dim"])
    threshold = manifest["threshold"]
    if not is_finite_number(threshold) or not 0 < float(threshold) <= math.pi:
        raise _field_error(path, "threshold", "a number of radians in (0, pi]", threshold)
    degree = manifest.get("target_degree")
    if degree is not None and (not is_finite_number(degree) or float(degree) <= 0):
        raise _field_error(path, "target_degree", "null or a positive number", degree)
    if "seed" in manifest and not _is_int(manifest["seed"]):
        raise _field_error(path, "seed", "an integer", manifest["seed"])
    for key in ("collection", "metric"):
        if manifest.get(key) is not None and not isinstance(manifest[key], str):
            raise _field_error(path, key, "null or a string", manifest[key])
    if manifest.get("align") is not None and not isinstance(manifest["align"], dict):
        raise _field_error(path, "align", "null or an object", manifest["align"])


def _check_model(model, path: Path) -> None:
    """Check ``model``: null, or an object of string fields with a checksum for a run."""
    if model is None:
        return
    if not isinstance(model, dict):
        raise _field_error(path, "model", "null or an object", model)
    for key in ("run", "kind", "checksum"):
        if model.get(key) is not None and not isinstance(model[key], str):
            raise _field_error(path, f"model.{key}", "a string", model[key])
    if model.get("run") is not None and not isinstance(model.get("checksum"), str):
        raise _field_error(path, "model.checksum", "a string", model.get("checksum"))


def _check_counts(counts, path: Path) -> None:
    """Check ``counts``: non-negative integers, images + texts = vertices."""
    if not isinstance(counts, dict) or not all(
        _is_int(counts.get(c)) and counts[c] >= 0 for c in ("vertices", "images", "texts", "edges")
    ):
        raise DataFormatError(
            f"{path}: 'counts' must give vertices, images, texts, edges as non-negative integers"
        )
    if counts["images"] + counts["texts"] != counts["vertices"]:
        raise DataFormatError(
            f"{path}: counts: {counts['images']} images + "
            f"{counts['texts']} texts is not {counts['vertices']} vertices"
        )
