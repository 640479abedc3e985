"""Writing refuses anything but a regular file or a new path, before any work; CSV loading
streams into NumPy columns."""

import os
import socket
import tracemalloc

import numpy as np
import pytest

from cli_helpers import one_error_line, run
from symgrad.errors import ArgumentError, FileExists
from symgrad.files import check_target, write_atomic
from symgrad.train.data import load_csv


def _specials(tmp_path):
    """(name, path) of every kind of non-regular target this machine can make."""
    target = tmp_path / "target.txt"
    target.write_text("keep me\n")
    made = []
    os.symlink(target, tmp_path / "link")
    made.append(("symbolic link", tmp_path / "link"))
    os.symlink(tmp_path / "missing.json", tmp_path / "dangling")
    made.append(("symbolic link", tmp_path / "dangling"))
    os.mkfifo(tmp_path / "fifo")
    made.append(("FIFO", tmp_path / "fifo"))
    made.append(("directory", tmp_path))
    made.append(("character device", "/dev/null"))
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock"))
        made.append(("socket", tmp_path / "sock"))
    except OSError:
        pass
    finally:
        sock.close()
    return target, made


@pytest.mark.parametrize("force", [False, True])
def test_writing_refuses_links_fifos_devices_and_directories_even_with_force(tmp_path, force):
    target, specials = _specials(tmp_path)
    for kind, path in specials:
        before = os.lstat(path)
        with pytest.raises(ArgumentError, match="is an? %s[^,]*, not a regular file" % kind):
            check_target(path, force=force)
        with pytest.raises(ArgumentError, match="not a regular file"):
            write_atomic(path, "new\n", force=force)
        after = os.lstat(path)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), kind
    assert target.read_text() == "keep me\n"
    assert not (tmp_path / "missing.json").exists()


def test_writing_a_new_path_or_a_forced_regular_file_still_works(tmp_path):
    path = tmp_path / "out.txt"
    write_atomic(path, "one\n")
    with pytest.raises(FileExists):
        write_atomic(path, "two\n")
    write_atomic(path, "two\n", force=True)
    assert path.read_text() == "two\n"


def test_cli_fit_refuses_a_dangling_symlink_out_before_training(capsys, tmp_path, monkeypatch):
    data = tmp_path / "line.csv"
    data.write_text("x,y\n1,2\n2,4\n")
    out = tmp_path / "out.json"
    os.symlink(tmp_path / "elsewhere.json", out)
    import symgrad.cli.commands as commands
    monkeypatch.setattr(commands, "fit", lambda *a, **k: pytest.fail("trained before checking --out"))
    for extra in ([], ["--force"]):
        code, _, err = run(capsys, "fit", "(w*x - y)**2", "--params", "w=0", "--data", str(data),
                           "--out", str(out), *extra)
        assert code == 2 and "is a symbolic link, not a regular file" in one_error_line(err)
    assert os.path.islink(out) and not (tmp_path / "elsewhere.json").exists()


def test_csv_loading_streams_into_numpy_columns(tmp_path):
    rows, rng = 60000, np.random.default_rng(0)
    table = rng.normal(size=(rows, 3))
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("a,b,c,label\n")
        for r in table:
            handle.write("%r,%r,%r,some text here\n" % tuple(map(float, r)))
    numeric = rows * 3 * 8
    tracemalloc.start()
    try:
        columns = load_csv(path, ["a", "b", "c"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for j, name in enumerate("abc"):
        assert columns[name].dtype == np.float64
        np.testing.assert_array_equal(columns[name], table[:, j])    # repr round-trips exactly
    assert peak < 3 * numeric, "peak %.1f MB for %.1f MB of numbers (file %.1f MB)" % (
        peak / 1e6, numeric / 1e6, os.path.getsize(path) / 1e6)
