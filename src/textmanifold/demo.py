"""``textmanifold demo``: the paper's experiments end to end on generated data.

Stages, each cached in the run directory (``stages/<name>.json`` marks it done and holds
its wall time and results)::

    cci              generate CLEVR-Change-Iterative (depth 3; --full: 4)
    classes          generate the scene-category set (label retrieval)
    train_joint      train the joint model (Eq. 1) on each of the two sets
    train_compose    train TIRG and Relation, plain and in Joint (Eq. 2), on CCI
    embed            export image, text and pretrained-image embeddings
    align            ICP: rotate the image cloud onto the text cloud (Algorithm 1)
    graphs           pick five thresholds, build the CCI graphs (image / + random / + text)
    label_retrieval  Table 1 rows A-F on the category set, retrievable-vs-threshold curves
    smooth_paths     Table 3: smooth shortest paths on the CCI graphs
    composed         Table 4: R@1, R@10, R@50 of the four compositors on CCI test pairs
    figures          path strips (Fig. 1), neighbour examples (Fig. 3), curves
    report           report/report.{md,json}, report/index.html

``resume`` skips done stages, and an interrupted stage continues where its own work
allows (images on disk are kept, training continues from its checkpoint). The stage
functions live in :mod:`textmanifold.demo_stages`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import io
from .errors import InputError

STAGES: tuple[str, ...] = (
    "cci", "classes", "train_joint", "train_compose", "embed", "align", "graphs",
    "label_retrieval", "smooth_paths", "composed", "figures", "report",
)
# What --force removes: only what the demo itself writes, never the whole directory.
OWNED = ("demo.json", "stages", "data", "runs", "embeddings", "graphs", "report", "cache")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and settings of one demo run (recorded in ``demo.json``).

    Attributes
    ----------
    seed : int
        Fixes data, weights, batch order, target sets and random points.
    render_width, render_height : int
        Size of the generated images.
    cci_depth, cci_branching : int
        The CCI tree (the paper: depth 4, branching 10).
    cci_text_only : int
        Extra CCI scenes with a description and no image (text vertices of Table 3).
    classes, images_per_class, texts_per_class : int
        The category set: K categories, rendered images and descriptions per category.
    image_size : int
        Network input side in pixels (images are resized to it).
    dim : int
        Width of the learned features and the joint space.
    joint_steps, compose_steps : int
        SGD steps of each joint model and of each of the four compositors.
    batch_size, compose_batch_size : int
        Examples per step (the paper: 50).
    lr, temperature : float
        SGD learning rate (the paper: 0.01) and Eq. 1's temperature.
    k_shot : int
        Labelled targets per category in label retrieval.
    smooth_degrees : tuple of float
        Mean degrees of the CCI image graph that fix the five smooth-path thresholds.
    label_degree : float
        Mean degree of the category set's Image graph at the label-retrieval threshold.
        The default 1 is a sparse graph, like the paper's, where images alone leave
        many queries unretrievable (the paper's D reaches 26% of ADE20K's queries).
    label_sweep : tuple of float
        Mean degrees of the Image graph at which rows C-F are also reported, so that the
        verdict does not hang on one threshold.
    curve_points : int
        Thresholds on the retrievable / mean-degree curves.
    workers : int
        Processes for generation and image loading.
    """

    seed: int = 0
    render_width: int = 128
    render_height: int = 96
    cci_depth: int = 3
    cci_branching: int = 10
    cci_text_only: int = 1000
    classes: int = 16
    images_per_class: int = 12
    texts_per_class: int = 60
    image_size: int = 64
    dim: int = 128
    joint_steps: int = 200
    compose_steps: int = 100
    batch_size: int = 50
    compose_batch_size: int = 50
    lr: float = 0.01
    temperature: float = 0.1
    k_shot: int = 2
    smooth_degrees: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 6.0)
    label_degree: float = 1.0
    label_sweep: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    curve_points: int = 12
    workers: int = 2

    def to_record(self) -> dict:
        record = asdict(self)
        record["smooth_degrees"] = list(self.smooth_degrees)
        record["label_sweep"] = list(self.label_sweep)
        return record

    def fingerprint(self) -> str:
        text = json.dumps(self.to_record(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def default_config(**changes) -> DemoConfig:
    """The default demo: CCI depth 3 (1,111 images); about seven minutes on two idle
    cores (measured: 406 s, of which training 340 s)."""
    return replace(DemoConfig(), **changes)


def full_config(**changes) -> DemoConfig:
    """``--full``: the paper's CCI depth 4 (11,111 images) and longer training."""
    return replace(DemoConfig(cci_depth=4, cci_text_only=10000, joint_steps=2000,
                              compose_steps=2000, image_size=128, dim=512,
                              images_per_class=20, texts_per_class=200, classes=32),
                   **changes)


def tiny_config(**changes) -> DemoConfig:
    """A configuration for tests: depth 2, a few steps, tiny images (well under a minute)."""
    return replace(DemoConfig(
        render_width=64, render_height=48, cci_depth=2, cci_text_only=20, classes=4,
        images_per_class=4, texts_per_class=6, image_size=32, dim=16, joint_steps=3,
        compose_steps=2, batch_size=8, compose_batch_size=5, k_shot=1,
        smooth_degrees=(1, 2, 3, 4, 5), label_degree=2.0, label_sweep=(1.0, 4.0), curve_points=4,
        workers=1),
        **changes)


# ----------------------------------------------------------------------------- running


@dataclass
class Demo:
    """One run directory: paths, config, and the results of the stages done so far."""

    out: Path
    config: DemoConfig
    progress: bool = True
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr,
                                                                  flush=True))
    results: dict[str, dict] = field(default_factory=dict)

    def marker(self, stage: str) -> Path:
        return self.out / "stages" / f"{stage}.json"

    def data(self, name: str) -> Path:
        return self.out / "data" / name

    def run(self, name: str) -> Path:
        return self.out / "runs" / name

    @property
    def sentence_cache(self) -> Path:
        return self.out / "cache" / "sentences"


def _check_directory(out: Path, config: DemoConfig, resume: bool, force: bool) -> None:
    if resume and force:
        raise InputError("choose one of --resume and --force")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if force:
        import shutil

        for name in OWNED:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        return
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not resume:
        raise InputError(f"{out}: directory is not empty (use --resume to continue the run "
                         "or --force to start it over)")
    stamp = out / "demo.json"
    if not stamp.exists():
        raise InputError(f"{out}: holds no demo run (no demo.json); choose another --out")
    if io.read_json(stamp).get("fingerprint") != config.fingerprint():
        raise InputError(f"{stamp}: the run was made with other settings (e.g. --full); "
                         "use --force to start it over or choose another --out")


def run_demo(out: str | os.PathLike, config: DemoConfig | None = None, *,
             stage: str | None = None, resume: bool = False, force: bool = False,
             progress: bool = True, log: Callable[[str], None] | None = None) -> dict:
    """Run the demo's stages in order, up to and including ``stage`` (default: all).

    Parameters
    ----------
    out : path-like
        The run directory.
    config : DemoConfig, optional
        Default: :func:`default_config`.
    stage : str, optional
        Stop after this stage (one of :data:`STAGES`).
    resume : bool
        Skip stages already done in ``out``; continue an interrupted one.
    force : bool
        Remove what an earlier run wrote in ``out`` and start over.
    progress : bool
        Show progress bars.
    log : callable, optional
        Receives one line per stage start and end (default: print to stderr).

    Returns
    -------
    dict
        Stage name -> its recorded result (``seconds`` included) for every stage done.
    """
    from . import demo_stages
    from .evaluate.report import json_safe

    config = config or default_config()
    if stage is not None and stage not in STAGES:
        raise InputError(f"unknown stage {stage!r}; one of: {', '.join(STAGES)}")
    out = Path(out)
    _check_directory(out, config, resume, force)
    demo = Demo(out, config, progress)
    if log is not None:
        demo.log = log
    io.write_json(out / "demo.json", {"fingerprint": config.fingerprint(),
                                      "config": config.to_record()})
    last = STAGES.index(stage) if stage else len(STAGES) - 1
    for number, name in enumerate(STAGES[:last + 1], start=1):
        marker = demo.marker(name)
        if marker.exists():
            demo.results[name] = io.read_json(marker)
            demo.log(f"[{number}/{len(STAGES)}] {name}: done earlier "
                     f"({demo.results[name]['seconds']:.1f} s), skipped")
            continue
        demo.log(f"[{number}/{len(STAGES)}] {name} ...")
        started = time.perf_counter()
        result = getattr(demo_stages, f"stage_{name}")(demo)
        result["seconds"] = round(time.perf_counter() - started, 3)
        result = json_safe(result)  # NaN (e.g. an undefined accuracy) is stored as null
        io.write_json(marker, result)
        demo.results[name] = result
        demo.log(f"[{number}/{len(STAGES)}] {name}: {result['seconds']:.1f} s")
    return demo.results
