"""A checkpoint records its model class; a run refuses a checkpoint of another model."""

import pytest
import torch

from textmanifold.errors import DataFormatError
from textmanifold.models.checkpoints import load_checkpoint, save_checkpoint
from textmanifold.models.compose import ComposeModel
from textmanifold.models.joint import JointModel
from textmanifold.models.loading import _load_weights


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return JointModel(8, 4), ComposeModel("tirg", 5, 4)


def test_the_class_is_recorded_and_the_same_class_loads(models, tmp_path):
    joint, _ = models
    path = tmp_path / "last.pt"
    save_checkpoint(path, joint, torch.optim.SGD(joint.parameters(), lr=0.1), None, 3, 2, [])
    state = load_checkpoint(path)
    assert state["model_class"] == "JointModel"
    torch.manual_seed(1)
    fresh = JointModel(8, 4)
    _load_weights(fresh, state, path, "joint")
    for name, value in joint.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name


def test_a_checkpoint_of_the_other_kind_is_refused(models, tmp_path):
    joint, compose = models
    path = tmp_path / "last.pt"
    save_checkpoint(path, compose, torch.optim.SGD(compose.parameters(), lr=0.1), None, 1, 2, [])
    with pytest.raises(
        DataFormatError,
        match=r"last.pt: holds a ComposeModel checkpoint but "
        r"the run is a joint run \(JointModel\)",
    ):
        _load_weights(joint, load_checkpoint(path), path, "joint")


def test_an_older_checkpoint_without_a_class_is_checked_by_its_weights(models, tmp_path):
    joint, compose = models
    state = {"model": compose.state_dict()}  # as written before the class was recorded
    with pytest.raises(DataFormatError, match="its weights do not fit the run's joint model"):
        _load_weights(joint, state, tmp_path / "last.pt", "joint")
