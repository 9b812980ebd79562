"""The cases issue 11 names one by one: silent wrong answers that now refuse, errors that
blamed the wrong thing, and paths that ended in a traceback."""

import json

import numpy as np
import pytest
import scipy.sparse

from textmanifold.cli import main

UNIT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]], dtype=np.float32)
IDS = ["a", "b", "c", "d"]


def refused(args, capsys) -> str:
    """Run the CLI; assert exit 2 with one ``error:`` line; return that line."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def save_space(path, X, ids):
    np.save(path, X)
    path.with_suffix(".ids.json").write_text(json.dumps(ids))


@pytest.fixture
def files(tmp_path):
    save_space(tmp_path / "image.npy", UNIT, IDS)
    save_space(tmp_path / "text.npy", UNIT, [f"text:{i}" for i in IDS])
    items = [
        {"id": i, "modality": "image", "labels": [f"L{n % 2}"], "scene": n}
        for n, i in enumerate(IDS)
    ]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    scipy.sparse.save_npz(tmp_path / "r.npz", scipy.sparse.csr_matrix(np.eye(4, dtype=bool)))
    return tmp_path


# ----------------------------------------------------------------------------- silent


def test_ade20k_max_objects_minus_one_refused(tmp_path, capsys):
    (tmp_path / "root").mkdir()
    err = refused(
        ["load", "ade20k", tmp_path / "root", tmp_path / "out", "--max-objects", "-1"], capsys
    )
    assert "--max-objects" in err


def test_align_ids_all_the_same_refused(files, capsys):
    (files / "image.ids.json").write_text(json.dumps(["a"] * 4))
    err = refused(
        [
            "align",
            "--image",
            files / "image.npy",
            "--text",
            files / "text.npy",
            "--out",
            files / "aligned.npy",
        ],
        capsys,
    )
    assert "image.ids.json: id 'a' appears 4 times" in err
    assert not (files / "aligned.npy").exists()


def test_paths_count_same_embeddings_twice_refused(files, capsys):
    err = refused(
        [
            "paths",
            "count",
            "--items",
            files / "items.jsonl",
            "--reachable",
            files / "r.npz",
            "--embeddings",
            files / "image.npy",
            "--embeddings",
            files / "image.npy",
            "--threshold",
            "0.5",
            "--no-progress",
        ],
        capsys,
    )
    assert "row id 'a' is also a row of" in err and "image.npy" in err


# ----------------------------------------------------------------------------- blame


def test_empty_items_is_blamed_on_items(files, capsys):
    (files / "items.jsonl").write_text("")
    err = refused(
        [
            "retrieve",
            "--embeddings",
            files / "image.npy",
            "--items",
            files / "items.jsonl",
            "--threshold",
            "0.5",
        ],
        capsys,
    )
    assert "items.jsonl: holds no items" in err


def test_one_dimensional_array_is_blamed_on_the_array(files, capsys):
    np.save(files / "image.npy", np.ones(4, dtype=np.float32))
    err = refused(
        [
            "align",
            "--image",
            files / "image.npy",
            "--text",
            files / "text.npy",
            "--out",
            files / "aligned.npy",
        ],
        capsys,
    )
    assert "image.npy: expected a non-empty 2-D array" in err and "ids.json" not in err


def test_k_shot_too_large_is_blamed_on_k_shot(files, capsys):
    err = refused(
        [
            "label-retrieval",
            "--image",
            files / "image.npy",
            "--items",
            files / "items.jsonl",
            "--k-shot",
            "100",
            "--threshold",
            "0.5",
        ],
        capsys,
    )
    assert "k_shot=100 but no class has that many images (the largest has 2)" in err
    assert "n_way" not in err


@pytest.mark.parametrize("option", ["--aux", "--embeddings"])
def test_other_width_is_blamed_on_its_file(files, capsys, option):
    save_space(files / "wide.npy", np.eye(4, dtype=np.float32), [f"w{i}" for i in range(4)])
    if option == "--aux":
        args = [
            "retrieve",
            "--embeddings",
            files / "image.npy",
            "--items",
            files / "items.jsonl",
            "--aux",
            files / "wide.npy",
            "--threshold",
            "0.5",
        ]
    else:
        args = [
            "paths",
            "count",
            "--items",
            files / "items.jsonl",
            "--reachable",
            files / "r.npz",
            "--embeddings",
            files / "image.npy",
            "--embeddings",
            files / "wide.npy",
            "--threshold",
            "0.5",
            "--no-progress",
        ]
    err = refused(args, capsys)
    assert "wide.npy has dimension 4 but" in err and "image.npy has 3" in err


# ----------------------------------------------------------------------------- paths


def test_text_cache_a_file(files, capsys):
    (files / "cache").write_text("not a directory")
    err = refused(
        ["train", "joint", files, "--out", files / "run", "--text-cache", files / "cache"], capsys
    )
    assert "--text-cache" in err and "cache: exists and is not a directory" in err


def test_output_under_proc_is_one_line(files, capsys):
    err = refused(
        [
            "graph",
            "build",
            files / "image.npy",
            "--out",
            "/proc/textmanifold-none/g.npz",
            "--threshold",
            "0.5",
        ],
        capsys,
    )
    assert "/proc/textmanifold-none" in err


def test_unreadable_input_is_one_line(files, capsys, monkeypatch):
    """Any OSError on a path becomes one line naming it (a read error, here)."""
    import textmanifold.io as io_module

    def failing_open(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(io_module, "open", failing_open, raising=False)
    err = refused(
        [
            "retrieve",
            "--embeddings",
            files / "image.npy",
            "--items",
            files / "items.jsonl",
            "--threshold",
            "0.5",
        ],
        capsys,
    )
    assert err == f"error: {files / 'items.jsonl'}: Permission denied\n"


@pytest.mark.parametrize(
    "extra", [["--reachable", "image.npy"], ["--reachable", "r.npz", "--graph", "image.npy"]]
)
def test_a_npy_where_a_sparse_npz_goes(files, capsys, extra):
    err = refused(
        [
            "paths",
            "count",
            "--items",
            files / "items.jsonl",
            "--embeddings",
            files / "image.npy",
            "--threshold",
            "0.5",
            "--no-progress",
            *[files / a if a.endswith(("npy", "npz")) else a for a in extra],
        ],
        capsys,
    )
    assert "image.npy: not a valid sparse .npz matrix" in err


def test_an_unexpected_exception_is_not_swallowed(files, monkeypatch):
    """Only user errors become one line; a bug still shows its traceback (exit 1)."""
    from textmanifold.cli import manifold_commands

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(manifold_commands, "load_space", broken)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        main(
            [
                "retrieve",
                "--embeddings",
                str(files / "image.npy"),
                "--items",
                str(files / "items.jsonl"),
                "--threshold",
                "0.5",
            ]
        )
