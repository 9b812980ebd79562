"""Every command on each class of bad input: exit 2, one ``error:`` line naming the path
or option, and no file changed.

Classes: OUT under a regular file, OUT of the wrong kind (an existing directory where a
file goes, a file where a directory goes), OUT not writable (``os.access`` mocked, so
the case runs as root too; a real read-only directory is tested when not root), and an
input that cannot be parsed. Then the cases of issue 11 one by one.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from PIL import Image

from _cli_fixtures import exit_code
from textmanifold import outputs

UNIT = np.eye(4, 3, dtype=np.float32) + 0.0  # rows 0-2 unit; row 3 fixed below
UNIT[3] = [0.6, 0.8, 0.0]


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its bytes (None for a directory)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def world(tmp_path) -> Path:
    """Valid small inputs beside bad ones; ``a_file`` is a regular file, ``a_dir`` a
    non-empty directory."""
    p = tmp_path
    (p / "a_file").write_text("keep me\n")
    (p / "a_dir").mkdir()
    (p / "a_dir" / "kept.txt").write_text("keep me too\n")
    ids = ["a", "b", "c", "d"]
    np.save(p / "image.npy", UNIT)
    (p / "image.ids.json").write_text(json.dumps(ids))
    np.save(p / "text.npy", UNIT)
    (p / "text.ids.json").write_text(json.dumps([f"text:{i}" for i in ids]))
    items = [
        {"id": i, "modality": "image", "path": f"{i}.png", "labels": [f"L{n % 2}"], "scene": n}
        for n, i in enumerate(ids)
    ]
    (p / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    scipy.sparse.save_npz(p / "r.npz", scipy.sparse.csr_matrix(np.eye(4, dtype=bool)))
    # unparsable inputs
    (p / "bad_items.jsonl").write_bytes(b'{"id": "a", "modality": "image"}\n{"id": "\xff"}\n')
    (p / "bad.npy").write_bytes(b"\x93NUMPY garbage that is no array")
    (p / "bad.npz").write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    coll = p / "coll"
    coll.mkdir()
    (coll / "collection.json").write_text(json.dumps({"name": "c", "format_version": 1}))
    (coll / "items.jsonl").write_bytes(b'{"id": "\xff\xfe", "modality": "text"}\n')
    (p / "run").mkdir()
    (p / "run" / "run.json").write_text("{not json")
    (p / "index").mkdir()
    (p / "index" / "manifest.json").write_text("{not json")
    root = p / "root"
    for sub in ("scenes", "captions", "image_splits", "tags"):
        (root / sub).mkdir(parents=True)
    (root / "index_ade20k.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage\x00\x01\x02")
    (root / "css.npy").write_text("a text file, not a pickle\n")
    (root / "scenes" / "CLEVR_train_scenes.json").write_bytes(b'{"scenes": [\xff')
    (root / "oidv6-class-descriptions.csv").write_bytes(b"LabelName,DisplayName\n/m/1,\xff\n")
    (root / "validation-annotations-human-imagelabels.csv").write_text(
        "ImageID,Source,LabelName,Confidence\ni1,verification,/m/1,1\n"
    )
    (root / "validation-annotations-bbox.csv").write_text("ImageID,Source,LabelName\n")
    (root / "open_images_validation_localized_narratives.jsonl").write_text("")
    (root / "captions" / "cap.dress.train.json").write_text("[{not json")
    (root / "image_splits" / "split.dress.train.json").write_text('["A1"]')
    (root / "tags" / "asin2attr.dress.train.json").write_text('{"A1": [["red"]]}')
    (p / "photos").mkdir()
    Image.new("RGB", (4, 4)).save(p / "photos" / "x.png")
    (p / "photos" / "captions.csv").write_bytes(b"path,caption\nx.png,\xff\xfe\n")
    return p


# Each command whose output a user names: its arguments, given OUT; "file" or "dir"
# output; for eval compose and embed OUT is the run whose files are written.
WRITERS = {
    "align": (
        "file",
        lambda p, o: ["align", "--image", p / "image.npy", "--text", p / "text.npy", "--out", o],
    ),
    "graph build": (
        "file",
        lambda p, o: ["graph", "build", p / "image.npy", "--out", o, "--threshold", "0.5"],
    ),
    "paths count": (
        "file",
        lambda p, o: [
            "paths",
            "count",
            "--items",
            p / "items.jsonl",
            "--reachable",
            p / "r.npz",
            "--embeddings",
            p / "image.npy",
            "--threshold",
            "0.5",
            "--out",
            o,
            "--no-progress",
        ],
    ),
    "label-retrieval": (
        "file",
        lambda p, o: [
            "label-retrieval",
            "--image",
            p / "image.npy",
            "--items",
            p / "items.jsonl",
            "--k-shot",
            "1",
            "--threshold",
            "0.5",
            "--out",
            o,
        ],
    ),
    "eval compose": ("run-file", lambda p, o: ["eval", "compose", o, "--no-progress"]),
    "embed": ("run-dir", lambda p, o: ["embed", p / "coll", o, "--no-progress"]),
    "cci generate": ("dir", lambda p, o: ["cci", "generate", o, "--depth", "1"]),
    "classes generate": ("dir", lambda p, o: ["classes", "generate", o]),
    "train joint": ("dir", lambda p, o: ["train", "joint", p / "coll", "--out", o]),
    "train compose": (
        "dir",
        lambda p, o: ["train", "compose", p / "coll", "--out", o, "--method", "tirg"],
    ),
    "demo": ("dir", lambda p, o: ["demo", "--tiny", "--out", o, "--no-progress"]),
    "index build": (
        "dir",
        lambda p, o: [
            "index",
            "build",
            p / "coll",
            "--out",
            o,
            "--image-embeddings",
            p / "image.npy",
        ],
    ),
    "index add": ("dir", lambda p, o: ["index", "add", o, "--image-embeddings", p / "image.npy"]),
    **{
        f"load {name}": (
            "dir",
            lambda p, o, name=name: ["load", name, p / "root", o, "--no-progress"],
        )
        for name in ("ade20k", "openimages", "fashioniq", "css", "clevr", "folder")
    },
}

# The file a "run-file" / "run-dir" command writes inside its run.
RUN_OUTPUT = {"eval compose": "eval_compose_test.json", "embed": "embeddings"}


def _wrong_kind(world: Path, command: str) -> tuple[Path, Path]:
    """OUT, and the path the message must name, for an output of the wrong kind."""
    kind = WRITERS[command][0]
    if kind == "file":
        return world / "a_dir", world / "a_dir"
    if kind == "dir":
        return world / "a_file", world / "a_file"
    run = world / "a_dir"
    target = run / RUN_OUTPUT[command]
    if kind == "run-file":
        target.mkdir()  # a directory where the file goes
    else:
        target.write_text("not a directory\n")  # a file where the directory goes
    return run, target


def check_refused(world: Path, args: list, capsys, names: str) -> None:
    before = snapshot(world)
    status = exit_code(*args)
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert names in err, err
    assert snapshot(world) == before


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_under_a_regular_file(world, command, capsys):
    out = world / "a_file" / "out"
    check_refused(world, WRITERS[command][1](world, out), capsys, str(world / "a_file"))


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_of_the_wrong_kind(world, command, capsys):
    out, named = _wrong_kind(world, command)
    check_refused(world, WRITERS[command][1](world, out), capsys, str(named))


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_not_writable(world, command, capsys, monkeypatch):
    # No write permission anywhere (reading stays allowed), whoever runs the test.
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: not mode & os.W_OK)
    out = world / "new" / "out"
    check_refused(world, WRITERS[command][1](world, out), capsys, "permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_out_in_a_real_read_only_directory(world, capsys):
    (world / "ro").mkdir()
    os.chmod(world / "ro", 0o555)
    try:
        check_refused(
            world,
            [
                "graph",
                "build",
                world / "image.npy",
                "--out",
                world / "ro" / "g.npz",
                "--threshold",
                "0.5",
            ],
            capsys,
            "ro",
        )
    finally:
        os.chmod(world / "ro", 0o755)


# ----------------------------------------------------------------------------- inputs

UNPARSABLE = {
    "align": (
        lambda p: [
            "align",
            "--image",
            p / "bad.npy",
            "--text",
            p / "text.npy",
            "--out",
            p / "new.npy",
        ],
        "bad.npy",
    ),
    "graph build": (
        lambda p: ["graph", "build", p / "bad.npy", "--out", p / "g.npz", "--threshold", "0.5"],
        "bad.npy",
    ),
    "retrieve": (
        lambda p: [
            "retrieve",
            "--embeddings",
            p / "image.npy",
            "--items",
            p / "bad_items.jsonl",
            "--threshold",
            "0.5",
        ],
        "bad_items.jsonl:2",
    ),
    "paths count": (
        lambda p: [
            "paths",
            "count",
            "--items",
            p / "items.jsonl",
            "--reachable",
            p / "bad.npz",
            "--embeddings",
            p / "image.npy",
            "--threshold",
            "0.5",
            "--no-progress",
        ],
        "bad.npz",
    ),
    "label-retrieval": (
        lambda p: [
            "label-retrieval",
            "--image",
            p / "image.npy",
            "--items",
            p / "bad_items.jsonl",
            "--k-shot",
            "1",
            "--threshold",
            "0.5",
        ],
        "bad_items.jsonl:2",
    ),
    "collection info": (lambda p: ["collection", "info", p / "coll"], "items.jsonl:1"),
    "collection validate": (
        lambda p: ["collection", "validate", p / "coll", "--no-images"],
        "items.jsonl:1",
    ),
    "train joint": (lambda p: ["train", "joint", p / "coll", "--out", p / "new"], "items.jsonl:1"),
    "train compose": (
        lambda p: ["train", "compose", p / "coll", "--out", p / "new", "--method", "tirg"],
        "items.jsonl:1",
    ),
    "embed": (lambda p: ["embed", p / "coll", p / "run", "--no-progress"], "run.json"),
    "eval compose": (lambda p: ["eval", "compose", p / "run", "--no-progress"], "run.json"),
    "cci generate": (lambda p: ["cci", "generate", p / "new", "--size", "12"], "--size"),
    "classes generate": (lambda p: ["classes", "generate", p / "new", "--size", "x"], "--size"),
    "demo": (lambda p: ["demo", "--out", p / "new", "--stage", "nope"], "nope"),
    "index info": (lambda p: ["index", "info", p / "index"], "manifest.json"),
    "index add": (
        lambda p: ["index", "add", p / "index", "--image-embeddings", p / "image.npy"],
        "manifest.json",
    ),
    "index build": (
        lambda p: [
            "index",
            "build",
            p / "coll",
            "--out",
            p / "new",
            "--image-embeddings",
            p / "bad.npy",
        ],
        "items.jsonl:1",
    ),
    "search": (lambda p: ["search", p / "index", "--text", "a red cube"], "manifest.json"),
    "serve": (lambda p: ["serve", p / "index", "--port", "65000"], "manifest.json"),
    "load ade20k": (
        lambda p: ["load", "ade20k", p / "root", p / "new", "--release", "2016"],
        "index_ade20k.mat",
    ),
    "load css": (
        lambda p: ["load", "css", p / "root", p / "new", "--data-file", p / "root" / "css.npy"],
        "css.npy",
    ),
    "load clevr": (
        lambda p: ["load", "clevr", p / "root", p / "new", "--split", "train"],
        "CLEVR_train_scenes.json",
    ),
    "load openimages": (
        lambda p: ["load", "openimages", p / "root", p / "new", "--no-progress"],
        "oidv6-class-descriptions.csv:2",
    ),
    "load fashioniq": (
        lambda p: [
            "load",
            "fashioniq",
            p / "root",
            p / "new",
            "--categories",
            "dress",
            "--split",
            "train",
        ],
        "cap.dress.train.json",
    ),
    "load folder": (
        lambda p: [
            "load",
            "folder",
            p / "photos",
            p / "new",
            "--captions",
            p / "photos" / "captions.csv",
            "--no-progress",
        ],
        "captions.csv",
    ),
}


@pytest.mark.parametrize("command", sorted(UNPARSABLE))
def test_unparsable_input(world, command, capsys):
    make_args, names = UNPARSABLE[command]
    check_refused(world, make_args(world), capsys, names)


def test_every_command_is_in_the_tables():
    from textmanifold.cli import app

    def names(group, prefix=""):
        for command in group.registered_commands:
            yield prefix + (command.name or command.callback.__name__)
        for sub in group.registered_groups:
            yield from names(sub.typer_instance, prefix + sub.name + " ")

    commands = set(names(app))
    assert commands - set(UNPARSABLE) - set(WRITERS) == set()
    no_output = {
        "retrieve",
        "collection info",
        "collection validate",
        "index info",
        "search",
        "serve",
    }
    assert set(WRITERS) == commands - no_output


GRAPH_COMMANDS = {
    "graph build": lambda p: ["graph", "build", p / "image.npy", "--out", p / "g.npz"],
    "retrieve": lambda p: [
        "retrieve",
        "--embeddings",
        p / "image.npy",
        "--items",
        p / "items.jsonl",
        "--query",
        "a",
    ],
}


@pytest.mark.parametrize("command", sorted(GRAPH_COMMANDS))
@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--backend", "numpy", "--build", "approximate"], "build='approximate' runs on FAISS"),
        (["--backend", "approximate"], "backend='approximate' is now build='approximate'"),
        (["--build", "ivf"], "build must be one of auto, exact, forest, approximate"),
    ],
)
def test_build_and_backend_refusals(world, command, options, named, capsys):
    pytest.importorskip("faiss")
    args = [*GRAPH_COMMANDS[command](world), "--threshold", "0.5", *options]
    check_refused(world, args, capsys, named)
