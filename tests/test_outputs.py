"""The output gate's rules, temp-file clean-up on resume, and pool workers dying with
their parent."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from textmanifold import outputs
from textmanifold.errors import InputError
from textmanifold.outputs import (
    check_output_dir,
    check_output_file,
    clear_owned,
    remove_stale_temps,
)


def test_file_rules(tmp_path):
    (tmp_path / "f").write_text("x")
    assert check_output_file(tmp_path / "new" / "deeper.npy") == tmp_path / "new" / "deeper.npy"
    assert check_output_file(tmp_path / "f") == tmp_path / "f"  # replaced by default
    with pytest.raises(InputError, match=r"^--out .*/f: exists \(use --force"):
        check_output_file(tmp_path / "f", force=False)
    with pytest.raises(InputError, match=r"--out .*/f/x/y: .*/f is a file, not a directory"):
        check_output_file(tmp_path / "f" / "x" / "y")
    with pytest.raises(InputError, match="is a directory; give a file name"):
        check_output_file(tmp_path, "--out")


def test_dir_rules(tmp_path):
    (tmp_path / "f").write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "kept").write_text("y")
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"
    with pytest.raises(InputError, match=r"OUT .*/f: exists and is not a directory"):
        check_output_dir(tmp_path / "f", "OUT")
    with pytest.raises(InputError, match=r"use --resume to continue it or --force"):
        check_output_dir(full)
    with pytest.raises(InputError, match=r"not empty \(use --force to overwrite it\)$"):
        check_output_dir(full, resume=None)
    with pytest.raises(InputError, match="choose one of --resume and --force"):
        check_output_dir(full, resume=True, force=True)
    for ok in ({"force": True}, {"resume": True}, {"allow_nonempty": True}):
        assert check_output_dir(full, **ok) == full
    assert (full / "kept").read_text() == "y"  # the gate itself never deletes user files


def test_not_writable_with_a_mocked_access(tmp_path, monkeypatch):
    """Root ignores permissions, so the rule is tested through os.access."""
    asked = []

    def access(path, mode):
        asked.append((Path(path), mode))
        return not mode & os.W_OK

    monkeypatch.setattr(outputs.os, "access", access)
    with pytest.raises(InputError, match=r"--out .*/a/b\.npy: cannot write in .* \(permission"):
        check_output_file(tmp_path / "a" / "b.npy")
    assert asked[-1][0] == tmp_path  # the nearest existing ancestor is the one checked
    (tmp_path / "old.npy").write_text("x")
    with pytest.raises(InputError, match="cannot write in"):
        check_output_file(tmp_path / "old.npy")
    with pytest.raises(InputError, match="cannot write in"):
        check_output_dir(tmp_path, allow_nonempty=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_not_writable_for_real(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(InputError, match="permission denied"):
        check_output_file(tmp_path / "ro" / "x")


def _interrupted_write(path: Path) -> Path:
    """The temporary file an atomic write killed mid-way leaves (io.atomic_write names
    it with tempfile.mkstemp: ``.<name>.<8 characters>.tmp``)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.write(fd, b"half")
    os.close(fd)
    return Path(temp)


def test_remove_stale_temps_removes_only_atomic_write_leftovers(tmp_path):
    (tmp_path / "images").mkdir()
    temp = _interrupted_write(tmp_path / "images" / "0001.png")
    assert temp.name.startswith(".0001.png.") and temp.name.endswith(".tmp")
    lookalikes = [tmp_path / ".notes.tmp", tmp_path / "data.tmp", tmp_path / ".a.b.tmp"]
    for path in lookalikes:
        path.write_text("mine")
    assert remove_stale_temps(tmp_path) == [temp]
    assert all(p.exists() for p in lookalikes)


def test_resume_removes_stale_temps_and_force_clears_owned(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    (out / "stages").mkdir()
    temp = _interrupted_write(out / "stages" / "cci.json")
    check_output_dir(out, resume=True)
    assert not temp.exists() and (out / "mine.txt").exists()
    clear_owned(out, ("stages", "demo.json"))
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


WORKER_SCRIPT = """
import os, sys, time
from pathlib import Path
from textmanifold.synth.output import process_pool

def busy(i):
    Path(sys.argv[1], str(os.getpid())).write_text("started")
    time.sleep(60)  # a long task: a worker would go on with it after its parent died

with process_pool(2) as pool:
    pool.map_async(busy, range(2), chunksize=1)
    while len(os.listdir(sys.argv[1])) < 2:
        time.sleep(0.05)
    print(" ".join(sorted(os.listdir(sys.argv[1]))), flush=True)
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_busy_pool_workers_die_with_a_killed_parent(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(p) for p in workers)
    parent.send_signal(signal.SIGKILL)  # no clean-up code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers)
