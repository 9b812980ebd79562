"""The typed run records and the one model factory (``models.records``, ``models.factory``):
``run.json`` round trips, its errors name the file and the key, ``build_model`` builds
what the positional constructors built, and ``load_run`` gives back the trained model."""

from __future__ import annotations

import copy
import inspect
import json
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from _models_fixtures import shapes_collection
from textmanifold.collection import load_embedding, read_collection
from textmanifold.errors import DataFormatError, InputError, MissingFileError
from textmanifold.models import runs
from textmanifold.models.compose import BALANCED_INIT, ComposeModel
from textmanifold.models.data import load_image
from textmanifold.models.embed import embed_joint_run
from textmanifold.models.factory import build_model
from textmanifold.models.joint import JointModel
from textmanifold.models.records import (
    RUN_FORMAT,
    ComposeModelConfig,
    DataRecord,
    JointModelConfig,
    RunRecord,
)
from textmanifold.models.train import TrainSettings

torch.set_num_threads(1)

# The run.json of a joint and a compose run of runs/demo (written before the records
# existed), verbatim but for the collection: the on-disk format they must keep reading.
_TRAIN = {
    "amp": True,
    "batch_size": 50,
    "channels_last": True,
    "checkpoint_every": 500,
    "device": "auto",
    "eval_every": 50,
    "image_size": 64,
    "lr": 0.01,
    "lr_step": 0,
    "min_delta": 0.005,
    "momentum": 0.9,
    "patience": 0,
    "precision": "float32",
    "progress": True,
    "seed": 0,
    "steps": 250,
    "temperature": 1.0,
    "threads": 2,
    "validation": 100,
    "weight_decay": 1e-06,
    "workers": 0,
}
OLD_JOINT = {
    "collection": "/data/cci",
    "format": 1,
    "kind": "joint",
    "data": {"examples": 1990, "fingerprint": "ab" * 32, "held_out": 100, "split": None},
    "model": {"dim": 128, "text_dim": 384, "text_model": None, "weights": None},
    "train": _TRAIN,
}
OLD_COMPOSE = {
    "collection": "/data/cci",
    "format": 1,
    "kind": "compose",
    "data": {
        "examples": 1900,
        "fingerprint": "cd" * 32,
        "held_out": 100,
        "joint_term_pool": 2000,
        "split": "train",
    },
    "model": {
        "balanced_init": True,
        "dim": 128,
        "in_joint": True,
        "learn_scale": False,
        "method": "tirg",
        "relation_hidden": 256,
        "vocab_size": 63,
        "weights": None,
    },
    "train": _TRAIN,
}


# ----------------------------------------------------------------------------- json


@pytest.mark.parametrize("raw", [OLD_JOINT, OLD_COMPOSE], ids=["joint", "compose"])
def test_stored_run_json_round_trips_unchanged(raw):
    record = RunRecord.from_json(copy.deepcopy(raw), "run.json")
    assert record.to_json() == raw
    assert RunRecord.from_json(record.to_json()) == record
    assert isinstance(record.train, TrainSettings) and record.train.threads == 2
    assert record.model.kind == record.kind == raw["kind"]


def test_a_new_record_round_trips_and_resolves_threads(tmp_path):
    model = ComposeModelConfig(method="relation", vocab_size=12, dim=16, relation_hidden=8)
    data = DataRecord(split="train", examples=10, fingerprint="0" * 64)
    record = RunRecord.new(model, tmp_path / ".", data, TrainSettings(threads=0))
    assert record.collection == str(tmp_path.resolve()) and record.format == RUN_FORMAT
    assert record.train.threads == torch.get_num_threads() > 0
    stored = record.to_json()
    assert "held_out" not in stored["data"] and "joint_term_pool" not in stored["data"]
    assert stored["train"] == asdict(record.train)
    assert RunRecord.from_json(stored) == record


def _without(raw: dict, section: str | None, key: str) -> dict:
    raw = copy.deepcopy(raw)
    del (raw[section] if section else raw)[key]
    return raw


def _with(raw: dict, section: str | None, key: str, value) -> dict:
    raw = copy.deepcopy(raw)
    (raw[section] if section else raw)[key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_without(OLD_JOINT, "model", "text_dim"), "model.text_dim is missing"),
        (_without(OLD_COMPOSE, "model", "vocab_size"), "model.vocab_size is missing"),
        (_without(OLD_COMPOSE, "data", "fingerprint"), "data.fingerprint is missing"),
        (_without(OLD_JOINT, None, "collection"), "collection is missing"),
        (_without(OLD_JOINT, None, "train"), "train is missing"),
    ],
)
def test_a_missing_key_is_named(raw, message):
    with pytest.raises(DataFormatError, match=f"^runs/x/run.json: {message}$"):
        RunRecord.from_json(raw, "runs/x/run.json")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_with(OLD_JOINT, "model", "dim", "128"), "model.dim must be an integer, not str '128'"),
        (_with(OLD_JOINT, "model", "dim", 12.5), "model.dim must be an integer"),
        (_with(OLD_COMPOSE, "model", "in_joint", 1), "model.in_joint must be true or false"),
        (_with(OLD_COMPOSE, "model", "weights", 3), "model.weights must be a string or null"),
        (_with(OLD_COMPOSE, "model", "method", "concat"), "model.method must be one of"),
        (_with(OLD_JOINT, "data", "examples", True), "data.examples must be an integer"),
        (_with(OLD_JOINT, "train", "lr", "fast"), "train.lr must be a number"),
        (_with(OLD_JOINT, "train", "amp", "yes"), "train.amp must be true or false"),
        (_with(OLD_JOINT, None, "model", [1]), "model must be an object"),
        (_with(OLD_JOINT, "train", "speed", 1), "train.speed is not a known key"),
        (_with(OLD_JOINT, "model", "method", "tirg"), "model.method is not a known key"),
    ],
)
def test_a_key_of_the_wrong_type_is_named(raw, message):
    with pytest.raises(DataFormatError, match=f"^runs/x/run.json: {message}"):
        RunRecord.from_json(raw, "runs/x/run.json")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "not a textmanifold run of format 1"),
        (_with(OLD_JOINT, None, "format", 2), "not a textmanifold run of format 1"),
        (_with(OLD_JOINT, None, "format", True), "not a textmanifold run of format 1"),
        (_with(OLD_JOINT, None, "kind", "gan"), "unknown run kind 'gan'"),
    ],
)
def test_not_a_run_keeps_its_message(raw, message):
    with pytest.raises(InputError, match=message):
        RunRecord.from_json(raw, "run.json")


def test_keys_older_runs_lack_take_what_those_runs_were_trained_with():
    raw = _without(_without(OLD_COMPOSE, "model", "learn_scale"), "model", "balanced_init")
    raw = _without(_without(raw, "train", "precision"), "data", "held_out")
    record = RunRecord.from_json(raw)
    assert (record.model.learn_scale, record.model.balanced_init) == (False, False)
    assert record.train.precision == TrainSettings().precision
    assert record.data.held_out is None and record.train.lr == 0.01
    assert isinstance(RunRecord.from_json(_with(OLD_JOINT, "train", "lr", 1)).train.lr, float)


def test_one_balanced_init_default():
    def default(fn):
        return inspect.signature(fn).parameters["balanced_init"].default

    assert BALANCED_INIT is True
    assert default(ComposeModel) is default(runs.train_compose) is BALANCED_INIT
    assert ComposeModelConfig("tirg", 5).balanced_init is BALANCED_INIT


# ----------------------------------------------------------------------------- factory


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert sa[name].shape == sb[name].shape, name
        assert torch.equal(sa[name], sb[name]), name


def test_build_model_equals_the_positional_joint_model():
    sentences = torch.randn(6, 10, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(3)
    old = JointModel(10, 8, None, sentences)
    torch.manual_seed(3)
    new = build_model(JointModelConfig(text_dim=10, dim=8), train_sentences=sentences)
    assert type(new) is JointModel
    _same_weights(old, new)
    torch.manual_seed(3)
    text_only = build_model(JointModelConfig(text_dim=10, dim=8), image_branch=False)
    assert text_only.f_img is None


@pytest.mark.parametrize("method", ["tirg", "tirg-conv", "relation"])
@pytest.mark.parametrize("in_joint", [False, True])
def test_build_model_equals_the_positional_compose_model(method, in_joint):
    # what train_compose built before the factory (its default: the balanced start)
    torch.manual_seed(5)
    old = ComposeModel(method, 9, 8, in_joint, None, 16, learn_scale=True, balanced_init=True)
    torch.manual_seed(5)
    new = build_model(
        ComposeModelConfig(
            method=method,
            vocab_size=9,
            in_joint=in_joint,
            dim=8,
            relation_hidden=16,
            learn_scale=True,
        )
    )
    _same_weights(old, new)
    # a load: the checkpoint replaces the start, which is not computed
    torch.manual_seed(5)
    loaded = build_model(
        ComposeModelConfig(
            method=method,
            vocab_size=9,
            in_joint=in_joint,
            dim=8,
            relation_hidden=16,
            learn_scale=True,
        ),
        initial_weights=False,
    )
    torch.manual_seed(5)
    _same_weights(
        loaded,
        ComposeModel(method, 9, 8, in_joint, None, 16, learn_scale=True, balanced_init=False),
    )


def test_a_load_does_not_read_the_initial_backbone_weights(tmp_path):
    config = JointModelConfig(text_dim=4, dim=4, weights=str(tmp_path / "gone.pt"))
    assert build_model(config, initial_weights=False).f_img is not None
    with pytest.raises(MissingFileError, match=r"gone\.pt"):
        build_model(config)
    with pytest.raises(InputError, match="JointModelConfig or a ComposeModelConfig"):
        build_model({"dim": 4})


# ----------------------------------------------------------------------------- load_run


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """21 images (all described), 20 pairs, 32x32 pixels."""
    return shapes_collection(tmp_path_factory.mktemp("shapes"), size=32, text_only=0)


def _trained(monkeypatch) -> list:
    """The models that training builds (and then trains in place)."""
    built = []

    def spy(*args, **kwargs):
        built.append(build_model(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(runs, "build_model", spy)
    return built


def test_load_run_reproduces_a_joint_runs_embeddings(shapes, tiny_settings, tmp_path, monkeypatch):
    built = _trained(monkeypatch)
    runs.train_joint(
        shapes,
        tmp_path / "run",
        dim=8,
        text_cache=tmp_path / "cache",
        settings=replace(tiny_settings, steps=3),
    )
    monkeypatch.undo()
    trained = built[0].eval()
    run = runs.load_run(tmp_path / "run")
    assert run.record == RunRecord.from_json(run.config) and run.kind == "joint"
    assert run.settings == run.record.train and run.record.model.dim == 8
    coll = read_collection(shapes)
    images = torch.stack([load_image(coll.image_path(it), 32) for it in coll.images()])
    sentences = torch.randn(5, run.record.model.text_dim)
    with torch.no_grad():
        assert torch.equal(run.model.embed_images(images), trained.embed_images(images))
        assert torch.equal(run.model.embed_texts(sentences), trained.embed_texts(sentences))
        text_only = runs.load_run(tmp_path / "run", image_branch=False).model
        assert torch.equal(text_only.embed_texts(sentences), trained.embed_texts(sentences))
        expected = trained.embed_images(images).numpy()
    embed_joint_run(
        shapes, tmp_path / "run", device="cpu", text_cache=tmp_path / "cache", progress=False
    )
    exported, ids = load_embedding(tmp_path / "run" / "embeddings" / "image.npy")
    assert ids == [it.id for it in coll.images()]
    np.testing.assert_allclose(exported, expected, atol=1e-6)


def test_load_run_reproduces_a_compose_runs_features(shapes, tiny_settings, tmp_path, monkeypatch):
    built = _trained(monkeypatch)
    runs.train_compose(
        shapes,
        tmp_path / "run",
        method="tirg",
        in_joint=True,
        dim=8,
        settings=replace(tiny_settings, steps=3),
    )
    monkeypatch.undo()
    trained = built[0].eval()
    run = runs.load_run(tmp_path / "run")
    assert run.record.model == ComposeModelConfig(
        method="tirg", vocab_size=len(run.vocab), in_joint=True, dim=8
    )
    assert run.record.data.joint_term_pool == 21
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    tokens, lengths = run.vocab.encode(
        [
            "make the red circle blue",
            "add a green square",
            "move it",
            "turn the square into a circle",
        ]
    )
    with torch.no_grad():
        for model in (run.model, trained):
            assert model.training is False
        assert torch.equal(run.model.gallery_features(images), trained.gallery_features(images))
        got = run.model.composed(run.model.source_features(images), tokens, lengths)
        want = trained.composed(trained.source_features(images), tokens, lengths)
    assert torch.equal(got, want)
    # a record whose shape does not fit its checkpoint is refused, naming the file
    raw = run.config
    raw["model"]["dim"] = 16
    (tmp_path / "run" / "run.json").write_text(json.dumps(raw))
    with pytest.raises(DataFormatError, match="weights do not fit"):
        runs.load_run(tmp_path / "run")
    assert replace(run.record.model, dim=16) == RunRecord.from_json(raw).model
