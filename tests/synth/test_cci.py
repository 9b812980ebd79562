"""The CCI generator and its CLI: structure, splits, byte-identical reruns, resume, errors.

References: the tree arithmetic (1 + b + b^2 images), the scenes read back from
scenes.json (descriptions, reachability recomputed, each pair's change one step), and
byte comparison of two independent runs.
"""

import json

import pytest

from textmanifold.cli import main
from textmanifold.collection import read_collection, validate_collection
from textmanifold.errors import InputError
from textmanifold.synth.cci import generate_cci
from textmanifold.synth.cci_plan import CHILDREN, _take_new, propose, source_scene
from textmanifold.synth.describe import describe_scene
from textmanifold.synth.reachability import object_records, reachable_pairs
from textmanifold.synth.render import is_visible
from textmanifold.synth.scene import Scene, is_free

SMALL = {"depth": 2, "branching": 3, "size": (64, 48), "progress": False}
FILES = ("scenes.json", "items.jsonl", "pairs.jsonl", "collection.json", "reachable.npz")


def _files(root) -> dict[str, bytes]:
    out = {name: (root / name).read_bytes() for name in FILES}
    out.update({f"images/{p.name}": p.read_bytes() for p in sorted((root / "images").iterdir())})
    return out


def test_structure_splits_descriptions_and_reachability(tmp_path):
    root = generate_cci(tmp_path / "cci", text_only_scenes=4, **SMALL)
    coll = read_collection(root)
    images, texts = coll.images(), coll.texts()
    assert len(images) == 1 + 3 + 9 and len(texts) == 4 and len(coll.scenes) == 17
    assert [it.split for it in images] == ["train"] * 4 + ["test"] * 9
    assert len(coll.pairs_of("train")) == 3 and len(coll.pairs_of("test")) == 9
    assert images[0].id == "cci-000000" and images[0].path == "images/CCI_000000.png"
    assert validate_collection(root) == []
    scenes = [Scene.from_clevr_json(record) for record in coll.scenes]
    for item in coll.items:
        assert item.text == describe_scene(scenes[item.scene])
    reach = reachable_pairs(scenes)
    stored = coll.reachable()
    assert (stored != reach).nnz == 0 and stored.nnz > 0
    index = {it.id: it.scene for it in images}
    for pair in coll.pairs:
        source, target = index[pair.source], index[pair.target]
        assert reach[source, target], pair  # every instruction is one step
        assert coll.scenes[target]["cci"]["parent"] == source
        assert coll.scenes[target]["cci"]["instruction"] == pair.text
        assert scenes[target].camera != scenes[source].camera
    # the second level's scenes are children of the first level's, three each
    parents = [coll.scenes[i]["cci"]["parent"] for i in range(4, 13)]
    assert parents == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert all(coll.scenes[13 + j]["cci"]["rendered"] is False for j in range(4))
    contents = {object_records(scene) for scene in scenes}
    assert len(contents) == 17  # every scene holds a different set of objects


def test_take_new_skips_scenes_seen_anywhere_and_asks_for_more():
    source = source_scene(0, 64, 48)
    task = (0, CHILDREN, 0, 0, source, 4, 64, 48)
    first = propose(task)
    assert len(first) == 4
    more = propose((*task[:5], 8, *task[6:]))
    assert [c.instruction for c in more[:4]] == [c.instruction for c in first]  # a prefix
    seen = {object_records(c.scene) for c in first[:3]}
    taken = _take_new(task, first, 2, seen, "scene 0")
    assert [c.instruction for c in taken] == [c.instruction for c in more[3:5]]
    assert object_records(more[4].scene) in seen
    few = propose((*task[:5], 3, *task[6:]))  # fewer than asked: the node is exhausted
    with pytest.raises(InputError, match="scene 0 allows only 0 changes"):
        _take_new((*task[:5], 5, *task[6:]), few, 1, seen, "scene 0")


def test_same_seed_same_bytes_regardless_of_workers_and_other_seed_differs(tmp_path):
    first = _files(generate_cci(tmp_path / "a", **SMALL))
    second = _files(generate_cci(tmp_path / "b", workers=2, **SMALL))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    other = _files(generate_cci(tmp_path / "c", seed=1, **SMALL))
    for name in ("scenes.json", "items.jsonl", "pairs.jsonl", "images/CCI_000000.png"):
        assert other[name] != first[name], name


def test_resume_keeps_valid_images_and_replaces_a_truncated_one(tmp_path):
    root = generate_cci(tmp_path / "cci", **SMALL)
    expected = _files(root)
    kept = root / "images" / "CCI_000005.png"
    broken = root / "images" / "CCI_000007.png"
    broken.write_bytes(broken.read_bytes()[:100])
    (root / "images" / "CCI_000011.png").unlink()
    problems = validate_collection(root)
    assert len(problems) == 2 and "CCI_000007.png" in problems[0] and "CCI_000011" in problems[1]
    (root / "collection.json").unlink()  # as after a crash: it is written last
    kept_stat = kept.stat()
    generate_cci(root, resume=True, **SMALL)
    assert kept.stat().st_mtime_ns == kept_stat.st_mtime_ns and kept.stat().st_ino == (
        kept_stat.st_ino
    )  # not rewritten
    assert _files(root) == expected


def test_resume_with_other_settings_refuses_and_keeps_everything(tmp_path):
    root = generate_cci(tmp_path / "cci", **SMALL)
    before = _files(root)
    with pytest.raises(InputError, match="other settings"):
        generate_cci(root, resume=True, **{**SMALL, "branching": 2})
    assert _files(root) == before


def test_force_overwrites(tmp_path):
    root = generate_cci(tmp_path / "cci", **SMALL)
    generate_cci(root, force=True, **{**SMALL, "seed": 5})
    assert json.loads((root / "collection.json").read_text())["config"]["seed"] == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, "depth must be an integer >= 1"),
        ({"branching": 10**6}, "branching 1000000 is larger than the"),
        ({"size": (16, 12)}, "too small"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        generate_cci(tmp_path / "cci", **{**SMALL, **kwargs})
    assert not (tmp_path / "cci").exists()


# ----------------------------------------------------------------------------- CLI


def _run(capsys, *argv) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_depth_two_gives_111_images_110_pairs(tmp_path, capsys):
    out = tmp_path / "cci"
    code, stdout, _ = _run(
        capsys, "cci", "generate", str(out), "--depth", "2", "--size", "48x36", "--workers", "1"
    )
    assert code == 0
    coll = read_collection(out)
    assert len(coll.images()) == 111 and len(coll.pairs) == 110
    assert len(coll.pairs_of("train")) == 10 and len(coll.pairs_of("test")) == 100
    assert "pair splits: test 100, train 10" in stdout
    mean = float(stdout.split("reachable neighbours per image: mean ")[1].split()[0])
    reach = coll.reachable()
    assert mean == pytest.approx(reach.sum() / 111, abs=0.005)

    code, stdout, _ = _run(capsys, "collection", "info", str(out))
    assert code == 0 and "images 111" in stdout and "depth=2" in stdout
    code, stdout, _ = _run(capsys, "collection", "validate", str(out))
    assert code == 0 and "valid" in stdout

    # Non-empty OUT without --resume/--force: one line, nothing touched.
    before = (out / "items.jsonl").read_bytes()
    code, _, err = _run(capsys, "cci", "generate", str(out), "--depth", "2")
    assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
    assert (out / "items.jsonl").read_bytes() == before

    # A truncated PNG and a corrupt JSON line: exit 2, one line per problem, named.
    png = out / "images" / "CCI_000042.png"
    png.write_bytes(png.read_bytes()[:60])
    code, _, err = _run(capsys, "collection", "validate", str(out))
    problems = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(problems) == 1 and "CCI_000042.png" in problems[0]
    lines = (out / "pairs.jsonl").read_text().splitlines()
    lines[6] = lines[6][:-5]
    (out / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    code, _, err = _run(capsys, "collection", "validate", str(out))
    assert code == 2 and "pairs.jsonl:7" in err
    code, _, err = _run(capsys, "collection", "info", str(out))
    assert code == 2 and "pairs.jsonl:7" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--depth", "0"], "depth"),
        (["--branching", "100000"], "branching 100000"),
        (["--size", "20x15"], "too small"),
        (["--size", "big"], "--size must be WIDTHxHEIGHT"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, capsys, args, message):
    code, _, err = _run(
        capsys, "cci", "generate", str(tmp_path / "o"), "--size", "64x48", "--workers", "1", *args
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_scenes_are_visible_and_the_tree_prefix_does_not_depend_on_depth(tmp_path):
    a = read_collection(generate_cci(tmp_path / "a", **{**SMALL, "depth": 1}))
    b = read_collection(generate_cci(tmp_path / "b", **SMALL))
    for one, two in zip(a.scenes, b.scenes[:4], strict=True):
        assert (one["objects"], one["camera"]) == (two["objects"], two["camera"])
    for record in b.scenes:  # every rendered scene keeps every object visible and apart
        scene = Scene.from_clevr_json(record)
        assert len(scene.objects) >= 2 and is_visible(scene, 64, 48)
        assert all(is_free(scene, o.x, o.y, o.radius, o.id) for o in scene.objects)
