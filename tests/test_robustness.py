"""Bad outputs and interruptions: one line naming the user's path, nothing half-written left behind."""

import errno
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io import files as fileio


def run(argv, capsys):
    """Run the CLI in-process; return (exit status, stderr)."""
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def temporaries(folder: Path) -> list[str]:
    """Names under ``folder``, at any depth, that look like a temporary of the atomic writers."""
    return [p.name for p in folder.rglob("*") if ".tmp" in p.name]


# ---------------------------------------------------------------- OS errors name the user's path


@pytest.mark.parametrize("argv", [["jaspar"], ["simulate", "--num-seqs", "20", "--tfs", "SP1"]])
def test_an_existing_folder_as_output_file_is_refused(tmp_path, capsys, argv):
    out = tmp_path / "out"
    out.mkdir()
    status, err = run([*argv, "--out", out], capsys)
    assert status == 2
    assert err == f"keras-motifs: error: {out}: is a folder; give a file name\n"
    assert list(tmp_path.rglob("*")) == [out]


def test_an_existing_file_as_output_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    out.write_text("mine")
    with pytest.raises(KerasMotifsError, match=f"^{re.escape(str(out))}: is a file; give a folder name$"):
        with fileio.atomic_directory(out, overwrite=True):
            pass
    assert out.read_text() == "mine" and sorted(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize(
    "error",
    [
        lambda tmp: OSError(errno.ENOSPC, "No space left on device"),  # Python's own write: no file name
        lambda tmp: OSError(f"Can't write data (file write failed: filename = '{tmp}', errno = 28, error message = "
                            "'No space left on device')"),  # h5py without an errno attribute
        lambda tmp: RuntimeError(f"Can't decrement id ref count (file write failed: filename = '{tmp}', errno = 28, "
                                 "error message = 'No space left on device')"),
    ],
    ids=["python", "h5py-oserror", "h5py-runtimeerror"],
)
def test_a_full_disk_names_the_output_and_leaves_nothing(tmp_path, capsys, monkeypatch, error):
    from keras_motifs.data.writer import DatasetWriter

    def append(self, split, x, y):
        raise error(next(self.path.parent.glob(f".{self.path.name}.*.tmp")))

    monkeypatch.setattr(DatasetWriter, "append", append)
    out = tmp_path / "d.h5"
    status, err = run(["simulate", "--num-seqs", 20, "--tfs", "SP1", "--out", out], capsys)
    assert status == 2
    assert err == f"keras-motifs: error: {out}: no space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_other_errors_met_while_writing_pass_through(tmp_path):
    """An error about an input read inside the block is not the output's: unchanged, it names the input."""
    with pytest.raises(FileNotFoundError) as raised:
        with fileio.atomic_file(tmp_path / "out.txt"):
            (tmp_path / "input.txt").read_text()
    assert raised.value.filename == str(tmp_path / "input.txt")
    with pytest.raises(RuntimeError, match="not an I/O failure"):
        with fileio.atomic_file(tmp_path / "out.txt"):
            raise RuntimeError("not an I/O failure")
    assert list(tmp_path.iterdir()) == []


def test_errors_inside_a_folder_being_written_name_the_final_folder(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KerasMotifsError) as raised:
        with fileio.atomic_directory(out) as tmp:
            with fileio.atomic_file(tmp / "metrics.json") as inner:
                raise PermissionError(errno.EACCES, "Permission denied", str(inner))
    assert str(raised.value) == f"{out / 'metrics.json'}: permission denied"
    with pytest.raises(KerasMotifsError) as raised:
        with fileio.atomic_directory(out) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "model.keras"))
    assert str(raised.value) == f"{out / 'model.keras'}: no space left on device"
    assert list(tmp_path.iterdir()) == []


def test_a_folder_replaced_by_overwrite_survives_a_failure_and_is_never_half_there(tmp_path):
    out = tmp_path / "run"
    with fileio.atomic_directory(out) as tmp:
        (tmp / "old").write_text("old")
    with pytest.raises(KerasMotifsError, match=f"^{re.escape(str(out))}: no space left on device$"):
        with fileio.atomic_directory(out, overwrite=True) as tmp:
            (tmp / "new").write_text("new")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert [p.name for p in out.iterdir()] == ["old"]
    with fileio.atomic_directory(out, overwrite=True) as tmp:
        (tmp / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"] and sorted(tmp_path.iterdir()) == [out]


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs (needs root, or is skipped)."""
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot run mount")
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)


@pytest.mark.parametrize("argv, name", [(["jaspar"], "db.meme"), (["simulate", "--num-seqs", "2000"], "d.h5")],
                         ids=["text", "hdf5"])
def test_a_really_full_disk_ends_with_one_line(full_disk, argv, name):
    out = full_disk / name
    result = subprocess.run([sys.executable, "-m", "keras_motifs.cli", *argv, "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]  # not a segmentation fault (negative)
    assert result.stderr == f"keras-motifs: error: {out}: no space left on device\n"
    assert os.listdir(full_disk) == []


# ---------------------------------------------------------------- signals


INTERRUPTED = r"""
import os, signal, sys, threading, time

signum = getattr(signal, sys.argv[1])
where = sys.argv[2]


def send(delay=0.0):
    if delay:
        threading.Timer(delay, os.kill, (os.getpid(), signum)).start()
    else:
        os.kill(os.getpid(), signum)


class Bomb:
    def __del__(self):
        send()
        time.sleep(1)  # ... and keep working


if where in ("writer", "del"):
    from keras_motifs.data.writer import DatasetWriter

    real_append = DatasetWriter.append

    def append(self, *args, **kwargs):
        real_append(self, *args, **kwargs)  # the temporary is half-written now
        if where == "del":
            Bomb()  # dropped at once: the signal arrives inside __del__
        else:
            send()
        time.sleep(1)  # ... and keep working

    DatasetWriter.append = append
elif where == "numba":
    import memelite

    real_tomtom = memelite.tomtom

    def tomtom(*args, **kwargs):
        send(delay=0.2)  # from another thread, wherever the main thread is: often in compiled code
        end = time.monotonic() + 3
        while time.monotonic() < end:
            result = real_tomtom(*args, **kwargs)
        return result

    memelite.tomtom = tomtom

from keras_motifs.cli import main

sys.exit(main(sys.argv[3:]))
"""


def interrupt(tmp_path, signame, where, argv):
    """Run ``keras-motifs ARGV`` in a subprocess that sends itself a signal while at work."""
    return subprocess.run([sys.executable, "-c", INTERRUPTED, signame, where, *map(str, argv)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.parametrize(
    "signame, where, status",
    [("SIGINT", "writer", 130), ("SIGTERM", "writer", 143), ("SIGINT", "del", 130)],
)
def test_a_signal_ends_a_command_at_once_and_leaves_nothing(tmp_path, signame, where, status):
    out = tmp_path / "out"
    result = interrupt(tmp_path, signame, where, ["simulate", "--num-seqs", 200, "--tfs", "SP1", "--out",
                                                  out / "d.h5"])
    assert result.returncode == status, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == "keras-motifs: interrupted"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert list(out.iterdir()) == []  # neither the output nor its temporary


def test_a_signal_landing_in_compiled_code_ends_the_command(tmp_path, samples):
    result = interrupt(tmp_path, "SIGINT", "numba", ["tomtom", "--query", samples / "filters.meme", "--out",
                                                     tmp_path / "hits.tsv"])
    assert result.returncode == 130, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == "keras-motifs: interrupted"
    assert "Traceback" not in result.stderr and "SystemError" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_interrupted_run_says_how_to_continue(tmp_path):
    out = tmp_path / "exp"
    result = interrupt(tmp_path, "SIGINT", "writer", ["run", "--out", out, "--num-seqs", 200, "--archs", "cnn-25"])
    assert result.returncode == 130, result.stderr[-3000:]
    assert result.stderr.splitlines()[-1] == "keras-motifs: interrupted; run the same command again to continue"
    assert "Traceback" not in result.stderr
    assert temporaries(out) == [] and not (out / "data" / "synthetic.h5").exists()


def test_main_gives_the_signal_handlers_back(tmp_path, capsys):
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    assert run(["jaspar", "--out", tmp_path / "db.meme"], capsys)[0] == 0
    assert run(["jaspar", "--out", tmp_path], capsys)[0] == 2
    assert {signum: signal.getsignal(signum) for signum in before} == before



def test_handling_signals_passes_the_previous_handler_keeps_ignored_signals_and_gives_both_back():
    from keras_motifs._runtime import handling_signals

    seen = []
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with handling_signals(lambda signum, frame, previous: seen.append((signum, previous))):
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [(signal.SIGINT, before[signal.SIGINT])]
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, before[signal.SIGTERM])
    assert {signum: signal.getsignal(signum) for signum in before} == before

def test_discard_temporaries_removes_what_is_being_written(tmp_path):
    with fileio.atomic_directory(tmp_path / "run") as folder, fileio.atomic_file(tmp_path / "a.txt") as file, \
            fileio.scratch_directory(tmp_path / "d.h5") as scratch:
        (folder / "model.keras").write_text("half")
        file.write_text("half")
        (scratch / "train.mat").write_text("extracted")
        assert len(temporaries(tmp_path)) == 3
        fileio.discard_temporaries()
        assert list(tmp_path.iterdir()) == []
        folder.mkdir()  # let the blocks finish as if the process went on
        file.write_text("")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "run"]


# ---------------------------------------------------------------- leftovers of a killed run


def test_leftover_temporaries_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "runs" / "cnn-50" / ".trial0.4ax83985.tmp").mkdir(parents=True)
    (tmp_path / "runs" / "cnn-50" / ".trial0.4ax83985.tmp" / "model.keras").write_text("half")
    (tmp_path / "runs" / "cnn-50" / "trial1").mkdir()
    (tmp_path / "runs" / "cnn-50" / "trial1" / ".metrics.json.q_1z8k0a.tmp").write_text("{")
    (tmp_path / "runs" / "cnn-50" / "trial1" / "metrics.json").write_text("{}")
    keep = [".hidden", "notes.tmp", ".x.tmp", ".x.short.tmp", ".x.ABCDEFGH.tmp", "a.abcd1234.tmp", "sweep.json"]
    for name in keep:
        (tmp_path / name).write_text("mine")
    removed = fileio.remove_leftover_temporaries(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == [
        "runs/cnn-50/.trial0.4ax83985.tmp", "runs/cnn-50/trial1/.metrics.json.q_1z8k0a.tmp"]
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == sorted(["runs", "runs/cnn-50", "runs/cnn-50/trial1", "runs/cnn-50/trial1/metrics.json", *keep])


def test_the_writers_temporaries_match_the_leftover_pattern(tmp_path):
    with fileio.atomic_file(tmp_path / "table.tsv") as file, fileio.atomic_directory(tmp_path / "trial0") as folder:
        assert fileio.TEMPORARY_NAME.fullmatch(file.name) and fileio.TEMPORARY_NAME.fullmatch(folder.name)


def test_a_resumed_run_removes_the_leftovers_first(tmp_path, monkeypatch):
    import keras_motifs.report.write
    from keras_motifs.sweep import run as experiment
    from keras_motifs.sweep.settings import Sweep

    leftover = tmp_path / "runs" / "cnn-50" / ".trial0.4ax83985.tmp"
    leftover.mkdir(parents=True)
    seen = []
    monkeypatch.setattr(experiment, "plan", lambda sweep, out_dir: (seen.append(leftover.exists()) or [], []))
    monkeypatch.setattr(keras_motifs.report.write, "write_report", lambda *args, **kwargs: tmp_path / "report.html")
    assert experiment.run_experiment(Sweep(), tmp_path, stream=io.StringIO()) == ["report"]
    assert seen == [False] and (tmp_path / "runs" / "cnn-50").is_dir() and not leftover.exists()


def test_leftovers_are_looked_for_only_where_the_sweep_writes(tmp_path):
    """At the top of the experiment folder and under data/ and runs/; a user's own folders are not searched."""
    for place in ("", "runs/cnn-1/trial0/motifs", "data", "mine/deep"):
        (tmp_path / place).mkdir(parents=True, exist_ok=True)
        (tmp_path / place / ".conv1.meme.abcd1234.tmp").write_text("half")
    assert fileio.remove_leftover_temporaries(tmp_path / "mine", recursive=False) == []
    for folder, recursive in ((tmp_path, False), (tmp_path / "data", True), (tmp_path / "runs", True)):
        fileio.remove_leftover_temporaries(folder, recursive=recursive)
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.tmp")] == ["mine/deep/.conv1.meme.abcd1234.tmp"]


def test_a_path_with_backslashes_is_named_as_it_is(tmp_path):
    out = tmp_path / "a\\q" / "t.txt"
    with pytest.raises(KerasMotifsError, match=r"no space left on device"):
        with fileio.atomic_file(out) as tmp:
            raise OSError(errno.ENOSPC, f"No space left on device: '{tmp}'")
