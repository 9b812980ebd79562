"""Learning commands: ``train joint``, ``train compose``, ``eval compose``, ``embed``.

torch is imported inside the commands, so ``textmanifold --help`` stays fast.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path

import typer

from ._options import PROGRESS, RESUME, SEED, WORKERS

train_app = typer.Typer(
    help="Train the joint embedding or a composed-retrieval model.", no_args_is_help=True
)
eval_app = typer.Typer(help="Evaluate a trained run.", no_args_is_help=True)

# Options shared by several commands (one definition, several signatures).
OUT = typer.Option(..., "--out", help="Run directory (created; never overwritten).")
DEVICE = typer.Option("auto", "--device", help="auto, cpu or cuda.")
DIM = typer.Option(512, "--dim", min=1, help="Width d of the learned features.")
WEIGHTS = typer.Option(
    None,
    "--weights",
    help="ResNet-18 start: 'imagenet' (torchvision's cache, no download) "
    "or a state-dict path; default: random.",
)
TEXT_CACHE = typer.Option(
    None,
    "--text-cache",
    help="Sentence-embedding cache directory "
    "(default: $TEXTMANIFOLD_CACHE or ~/.cache/textmanifold).",
)


# The fields of TrainSettings a user sets on the command line: (type, option).
TRAINING_OPTIONS: dict[str, tuple[type, typer.models.OptionInfo]] = {
    "steps": (int, typer.Option(1000, "--steps", min=0, help="Total SGD steps (the paper: 200k).")),
    "batch_size": (
        int,
        typer.Option(50, "--batch-size", min=2, help="Examples per step (the paper: 50)."),
    ),
    "lr": (float, typer.Option(0.01, "--lr", help="SGD learning rate (the paper: 0.01).")),
    "momentum": (float, typer.Option(0.9, "--momentum", help="SGD momentum.")),
    "lr_step": (
        int,
        typer.Option(
            0, "--lr-step", min=0, help="Multiply the lr by 0.1 every N steps (0: constant)."
        ),
    ),
    "temperature": (
        float,
        typer.Option(1.0, "--temperature", help="Eq. 1 temperature (the paper: 1)."),
    ),
    "image_size": (
        int,
        typer.Option(128, "--image-size", min=32, help="Images are resized to SIZE x SIZE."),
    ),
    "device": (str, DEVICE),
    "amp": (bool, typer.Option(True, "--amp/--no-amp", help="Mixed precision on CUDA.")),
    "precision": (
        str,
        typer.Option(
            "float32",
            "--precision",
            help="CPU forward pass in float32 or under bfloat16 autocast (about 1.5x the "
            "images/s; see docs/decisions/learning.md).",
        ),
    ),
    "channels_last": (
        bool,
        typer.Option(
            False,
            "--channels-last/--no-channels-last",
            help="Channels-last memory order for images and convolutions (same math).",
        ),
    ),
    "threads": (
        int,
        typer.Option(
            0,
            "--threads",
            min=0,
            help="torch threads (0: one per available core); recorded in run.json.",
        ),
    ),
    "validation": (
        int,
        typer.Option(
            0,
            "--validation",
            min=0,
            help="Training pairs held out for a learning curve (validation R@1 and loss "
            "in train_log.json); 0: none.",
        ),
    ),
    "eval_every": (
        int,
        typer.Option(50, "--eval-every", min=1, help="Steps between validation measurements."),
    ),
    "patience": (
        int,
        typer.Option(
            0,
            "--patience",
            min=0,
            help="Stop when validation R@1 has not improved by --min-delta for this many "
            "measurements (0: train all --steps).",
        ),
    ),
    "min_delta": (
        float,
        typer.Option(
            0.005, "--min-delta", min=0.0, help="Improvement in validation R@1 that counts."
        ),
    ),
    "seed": (int, SEED),
    "checkpoint_every": (
        int,
        typer.Option(500, "--checkpoint-every", min=1, help="Steps between checkpoints."),
    ),
    "workers": (int, WORKERS),
    "progress": (bool, PROGRESS),
}


def with_training_options(command: Callable) -> Callable:
    """Give ``command`` the options of :data:`TRAINING_OPTIONS`; it receives them as one
    ``settings: TrainSettings`` argument instead.

    Typer reads a command's options from its signature, so the shared options are
    appended to it here rather than repeated in every training command.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "settings"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, (kind, option) in TRAINING_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(**arguments):
        from ..models.train import TrainSettings

        options = {name: arguments.pop(name) for name in TRAINING_OPTIONS}
        return command(settings=TrainSettings(**options), **arguments)

    run.__signature__ = signature.replace(parameters=own + shared)
    return run


def _check_text_cache(text_cache: Path | None) -> None:
    """--text-cache, when given, is a writable directory (the output gate; ``--out`` of
    a training run is checked by ``models.runs`` itself, before any work)."""
    from ..outputs import check_output_dir

    if text_cache is not None:
        check_output_dir(text_cache, "--text-cache", allow_nonempty=True)


def _print_result(out: Path, result) -> None:
    from ..io import dumps_json

    record = result.to_record()
    typer.echo(
        dumps_json(
            {
                "run": str(out),
                "steps": result.step,
                "final_loss": result.losses[-1] if result.losses else None,
                "images_per_second": record["images_per_second"],
            }
        ),
        nl=False,
    )


@train_app.command("joint")
@with_training_options
def train_joint_command(
    settings,
    collection: Path = typer.Argument(..., help="Collection directory."),
    out: Path = OUT,
    resume: bool = RESUME,
    dim: int = DIM,
    weights: str = WEIGHTS,
    text_cache: Path = TEXT_CACHE,
    text_model: Path = typer.Option(
        None,
        "--text-model",
        help="sentence-transformers model directory (default: the bundled all-MiniLM-L6-v2).",
    ),
    split: str = typer.Option(None, "--split", help="Train on this split's images only."),
) -> None:
    """Train the two-branch joint image-text embedding (Eq. 1) on described images."""
    from ..models.runs import train_joint

    _check_text_cache(text_cache)
    result = train_joint(
        collection,
        out,
        dim=dim,
        weights=weights,
        text_model=None if text_model is None else str(text_model),
        text_cache=text_cache,
        split=split,
        settings=settings,
        resume=resume,
    )
    _print_result(out, result)


@train_app.command("compose")
@with_training_options
def train_compose_command(
    settings,
    collection: Path = typer.Argument(..., help="Collection directory with pairs."),
    out: Path = OUT,
    method: str = typer.Option(
        ...,
        "--method",
        help="Compositor: tirg (fully connected), tirg-conv (on the last "
        "feature map, google/tirg's TIRGLastConv) or relation.",
    ),
    in_joint: bool = typer.Option(
        False, "--in-joint", help="Compose in the joint space (Eq. 2, both terms)."
    ),
    learn_scale: bool = typer.Option(
        False,
        "--learn-scale",
        help="A learnable scale of both features (init 4, as "
        "google/tirg) instead of the fixed --temperature.",
    ),
    balanced_init: bool = typer.Option(
        True,
        "--balanced-init/--authors-init",
        help="In Joint: start TIRG's two terms with equal norms on unit vectors "
        "(default), or with the authors' weights (1, 10).",
    ),
    resume: bool = RESUME,
    dim: int = DIM,
    weights: str = WEIGHTS,
    split: str = typer.Option("train", "--split", help="Train on this split's pairs."),
) -> None:
    """Train TIRG, TIRG-conv or Relation for composed retrieval, plain or in Joint."""
    from ..models.runs import train_compose

    result = train_compose(
        collection,
        out,
        method=method,
        in_joint=in_joint,
        dim=dim,
        weights=weights,
        split=split,
        learn_scale=learn_scale,
        balanced_init=balanced_init,
        settings=settings,
        resume=resume,
    )
    _print_result(out, result)


@eval_app.command("compose")
def eval_compose_command(
    run: Path = typer.Argument(..., help="Run directory of `train compose`."),
    collection: Path = typer.Option(
        None, "--collection", help="Evaluate on this collection (default: the run's)."
    ),
    split: str = typer.Option("test", "--split", help="Pairs (queries) of this split."),
    device: str = DEVICE,
    workers: int = WORKERS,
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward."),
    progress: bool = PROGRESS,
) -> None:
    """Print R@1, R@10, R@50 of composed queries as JSON (also saved in RUN)."""
    from ..io import dumps_json, write_json
    from ..models.embed import evaluate_compose_run
    from ..outputs import check_output_file

    path = check_output_file(run / f"eval_compose_{split}.json", "RUN")
    result = evaluate_compose_run(
        run,
        collection,
        split=split,
        device=device,
        workers=workers,
        batch_size=batch_size,
        progress=progress,
    )
    write_json(path, result)
    typer.echo(dumps_json(result), nl=False)


def embed_command(
    collection: Path = typer.Argument(..., help="Collection directory."),
    run: Path = typer.Argument(..., help="Run directory of `train joint`."),
    device: str = DEVICE,
    workers: int = WORKERS,
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward."),
    text_cache: Path = TEXT_CACHE,
    progress: bool = PROGRESS,
    engine: str = typer.Option(
        "local",
        "--engine",
        help="local (this process) or ray (Ray Data actors, sharded output, resumable).",
    ),
    address: str = typer.Option(
        None,
        "--address",
        help="Ray cluster for --engine ray: auto or ray://host:port (default: a local Ray).",
    ),
    shard_size: int = typer.Option(
        10_000, "--shard-size", min=1, help="Images per shard (--engine ray)."
    ),
    gpus_per_worker: float = typer.Option(
        0.0, "--gpus-per-worker", min=0.0, help="GPUs per Ray actor (--engine ray)."
    ),
    actors: int = typer.Option(
        0, "--actors", min=0, help="Most Ray actors at once (0: as the cluster fits)."
    ),
) -> None:
    """Write RUN/embeddings/{image,text,image_pretrained}: .npy with *.ids.json, or with
    --engine ray sharded image spaces (image_emb/*.npy, metadata/*.parquet, manifest.json).
    """
    from ..outputs import check_output_dir
    from ..validation import check_option

    check_option("--engine", engine, ("local", "ray"))
    check_output_dir(run / "embeddings", "RUN/embeddings", allow_nonempty=True)
    _check_text_cache(text_cache)
    if engine == "local":
        from ..models.embed import embed_joint_run

        written = embed_joint_run(
            collection,
            run,
            batch_size=batch_size,
            workers=workers,
            device=device,
            text_cache=text_cache,
            progress=progress,
        )
    else:
        from ..engines.ray_embed import embed_joint_run_ray

        written = embed_joint_run_ray(
            collection,
            run,
            address=address,
            shard_size=shard_size,
            gpus_per_worker=gpus_per_worker,
            workers=actors or None,
            batch_size=batch_size,
            device=device,
            text_cache=text_cache,
            progress=progress,
        )
    for name, path in written.items():
        typer.echo(f"{name}: {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.add_typer(eval_app, name="eval")
    app.command("embed")(embed_command)
