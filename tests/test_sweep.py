"""keras-motifs run: a tiny sweep end to end, resuming, and bad settings."""

import csv
import dataclasses
import io
import json
import re
import shutil

import pytest

from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.io.runfolder import RunFolder
from keras_motifs.models import get_spec
from keras_motifs.sweep.run import run_experiment
from keras_motifs.sweep.settings import PROFILES, resolve_sweep

TINY = dict(archs="cnn-1,cnn-25", epochs=1, num_seqs=300, callback_every=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("experiment")
    log = io.StringIO()
    ran = run_experiment(resolve_sweep("quick", **TINY), out, stream=log)
    return out, ran, log.getvalue()


def test_tiny_sweep_writes_every_report_file(tiny_run):
    out, ran, log = tiny_run
    assert ran == [
        "simulate",
        "train cnn-1 trial 0", "filters cnn-1 trial 0",
        "tomtom cnn-1 trial 0 conv1", "score cnn-1 trial 0 conv1", "importance cnn-1 trial 0 conv1",
        "tomtom cnn-1 trial 0 conv2", "score cnn-1 trial 0 conv2", "importance cnn-1 trial 0 conv2",
        "train cnn-25 trial 0", "filters cnn-25 trial 0",
        "tomtom cnn-25 trial 0 conv1", "score cnn-25 trial 0 conv1", "importance cnn-25 trial 0 conv1",
        "report",
    ]
    for name in ("table.tsv", "table.md", "report.html", "sweep.json"):
        assert (out / name).is_file()
    with open(out / "table.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["model"] for r in rows] == ["cnn-1", "cnn-1 (conv2)", "cnn-25"]
    for column in ("auroc_mean", "aupr_mean", "match_any_mean", "match_gt_mean"):
        assert all(0.0 <= float(r[column]) <= 1.0 for r in rows), column
    logos = sorted(p.name for p in (out / "figures" / "logos").iterdir())
    assert logos == ["cnn-1_trial0_conv1.png", "cnn-1_trial0_conv2.png", "cnn-25_trial0_conv1.png"]
    history = (out / "runs" / "cnn-25" / "trial0" / "history.csv").read_text().splitlines()[0]
    assert "motif_match_frac" in history and "motif_gt_frac" in history
    score = json.loads((out / "runs" / "cnn-1" / "trial0" / "motifs" / "conv2.score.json").read_text())
    assert score["num_filters"] == 128 and score["layer"] == "conv2"
    assert "15/15 report" in log and "train cnn-25 trial 0: done in" in log
    importance = (out / "runs" / "cnn-1" / "trial0" / "motifs" / "conv2.importance.tsv").read_text().splitlines()
    assert importance[0].startswith("filter\tlayer\timportance\ttop_class\t") and len(importance) == 129


def test_second_run_redoes_only_the_missing_step(tiny_run):
    out, _, _ = tiny_run
    (out / "runs" / "cnn-25" / "trial0" / "motifs" / "conv1.tomtom.tsv").unlink()
    log = io.StringIO()
    ran = run_experiment(resolve_sweep("quick", **TINY), out, stream=log)
    assert ran == ["tomtom cnn-25 trial 0 conv1", "report"]
    assert "train cnn-1 trial 0: already done" in log.getvalue()


def test_resuming_with_other_settings_is_refused_leaving_the_folder_as_it_was(tiny_run):
    out, _, _ = tiny_run
    lock = out / ".keras-motifs.lock"
    lock.write_text("keras-motifs run, process 1")  # as an earlier process left it
    before = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    with pytest.raises(KerasMotifsError, match=r"holds a run with other settings \(epochs was 1, now 2\)"):
        run_experiment(resolve_sweep("quick", **{**TINY, "epochs": 2}), out)
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == before
    assert lock.read_text() == "keras-motifs run, process 1"


def test_a_second_run_in_a_folder_being_written_is_refused_and_touches_nothing(tiny_run):
    from keras_motifs.io.files import folder_lock

    out, _, _ = tiny_run
    unfinished = out / "runs" / "cnn-25" / ".trial0.abcd1234.tmp"  # what the first run is writing
    unfinished.mkdir()
    with folder_lock(out, "run"):
        with pytest.raises(KerasMotifsError, match=r"another keras-motifs command is writing this folder "
                                                   r"\(keras-motifs run, process \d+, or the worker processes"):
            run_experiment(resolve_sweep("quick", **TINY), out)
        assert unfinished.is_dir()
    assert run_experiment(resolve_sweep("quick", **TINY), out, stream=io.StringIO()) == ["report"]
    assert not unfinished.exists()  # the lock released: a leftover of a run that ended


def test_a_folder_that_cannot_be_locked_is_written_with_a_warning(tiny_run, monkeypatch):
    """A file system without flock (some cluster mounts) costs the lock, not the run."""
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out, _, _ = tiny_run
    with pytest.warns(KerasMotifsWarning, match=re.escape(f"{out}: cannot lock this folder (no locks available)")):
        assert run_experiment(resolve_sweep("quick", **TINY), out, stream=io.StringIO()) == ["report"]


def test_profiles_and_config_files(tmp_path):
    assert resolve_sweep("paper").trials == 5 and len(resolve_sweep("paper").archs) == 18
    assert resolve_sweep("quick").archs == PROFILES["quick"]["archs"]
    config = tmp_path / "sweep.yaml"
    config.write_text("archs: [cnn-2, cnn-50]\ntrials: 2\nnum-seqs: 1000\n")
    sweep = resolve_sweep("quick", config, trials=3)
    assert sweep.archs == ["cnn-2", "cnn-50"] and sweep.num_seqs == 1000 and sweep.trials == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ("archs: [cnn-3]\n", "unknown architecture 'cnn-3'"),
        ("epochz: 3\n", r"unknown sweep setting\(s\) epochz"),
        ("trials: 0\n", "trials must be a positive integer"),
        ("engine: blast\n", "engine must be"),
        ("window: 0\n", "window must be a positive integer, got 0"),
        ("[1, 2]\n", "expected a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_configs_fail_before_work(tmp_path, text, message):
    config = tmp_path / "sweep.yaml"
    config.write_text(text)
    with pytest.raises(KerasMotifsError, match=message):
        resolve_sweep("quick", config)


def test_cli_errors_before_work(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "x"), "--archs", "cnn-1,nope"]) == 2
    assert "unknown architecture 'nope'" in capsys.readouterr().err
    (tmp_path / "bad.h5").write_text("not hdf5")
    assert main(["run", "--out", str(tmp_path / "y"), "--data", str(tmp_path / "bad.h5")]) == 2
    assert "bad.h5: not an HDF5 file" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", "--out", str(blocker / "sub"), "--archs", "cnn-25", "--num-seqs", "100"]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err
    if shutil.which("tomtom") is None:
        assert main(["run", "--out", str(tmp_path / "z"), "--engine", "meme"]) == 2
        assert "MEME suite executable 'tomtom' not found" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


@pytest.mark.parametrize("bad, message", [
    (["--num-seqs", "5"], "num_seqs 5 leaves a split empty (train, valid, test: 4, 0, 1)"),
    (["--archs", "cnn-100", "--num-seqs", "60"], None),
])
def test_a_refused_run_leaves_nothing_and_the_fixed_command_runs_in_the_same_folder(
        bad, message, tmp_path, capsys, monkeypatch):
    """Settings are checked before sweep.json is written: fixing the typo is not locked out of the folder."""
    import keras_motifs.data.synthetic as data

    out = tmp_path / "exp"
    if message is None:  # a sequence length the architecture cannot pool over
        monkeypatch.setattr(data, "simulation_motifs", lambda *args, **kwargs: [])
        bad = bad + ["--config", str(tmp_path / "short.yaml")]
        (tmp_path / "short.yaml").write_text("length: 70\n")
        message = "cnn-100: layer 1 pools over 100 positions but only 70 remain at input length 70"
    assert main(["run", "--out", str(out), *bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()
    monkeypatch.undo()
    assert main(["run", "--out", str(out), "--archs", "cnn-25", "--num-seqs", "100", "--epochs", "1"]) == 0
    assert (out / "report.html").is_file()


def test_report_command_on_run_folders_made_elsewhere(tiny_run, tmp_path, capsys):
    out, _, _ = tiny_run
    runs = sorted(str(p) for p in (out / "runs").glob("*/trial*"))
    assert main(["report", "--runs", *runs, "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "report" / "table.tsv").read_text() == (out / "table.tsv").read_text()
    assert main(["report", "--runs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_users_fasta_without_motif_ids_runs_through(tmp_path, capsys):
    """Classes with no known JASPAR motif: match-any is scored, ground truth is left empty."""
    import numpy as np

    rng = np.random.default_rng(0)
    fasta, labels = tmp_path / "s.fa", tmp_path / "labels.tsv"
    fasta.write_text("".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), 100))}\n" for i in range(100)))
    labels.write_text("id\tmine\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(100)))
    assert main(["encode", "--fasta", str(fasta), "--labels", str(labels), "--out", str(tmp_path / "d.h5")]) == 0
    assert main(["run", "--out", str(tmp_path / "run"), "--data", str(tmp_path / "d.h5"), "--archs", "cnn-25",
                 "--epochs", "1"]) == 0, capsys.readouterr().err
    score = json.loads((tmp_path / "run" / "runs" / "cnn-25" / "trial0" / "motifs" / "conv1.score.json").read_text())
    assert score["match_gt_frac"] is None and score["num_filters"] == 30


class _Stop(Exception):
    """Ends a patched model.fit once its arguments are recorded."""


@pytest.mark.parametrize("profile, expected", [
    ("quick", {"epochs": 200, "monitor": "val_loss", "mode": "min", "min_delta": 0.0, "patience": 20,
               "lr": 3e-4, "batch_size": 50}),
    ("paper", {"epochs": 100, "monitor": "val_loss", "mode": "min", "min_delta": 0.0, "patience": 20,
               "lr": 3e-4, "batch_size": 100}),
])
def test_profiles_train_with_their_protocol(profile, expected, tmp_path, small_dataset_file, monkeypatch):
    """What reaches model.fit when the sweep trains a run: the profile's callbacks and settings."""
    import keras

    from keras_motifs.sweep.steps import _train

    seen = {}

    def recording_fit(model, *args, **kwargs):
        seen.update(kwargs, lr=float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
        raise _Stop

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    sweep = resolve_sweep(profile)
    with pytest.raises(_Stop):
        _train(sweep, small_dataset_file, get_spec("cnn-25"), 0, RunFolder(tmp_path / "run"))
    stop = seen["callbacks"][0]
    assert isinstance(stop, keras.callbacks.EarlyStopping) and stop.restore_best_weights
    assert (seen["epochs"], stop.monitor, stop.patience, abs(stop.min_delta)) == (
        expected["epochs"], expected["monitor"], expected["patience"], expected["min_delta"])
    assert stop.mode == expected["mode"]
    assert seen["lr"] == pytest.approx(expected["lr"]) and seen["batch_size"] == expected["batch_size"]
    assert not any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in seen["callbacks"])
    assert not (tmp_path / "run").exists()  # nothing left of the refused training


@pytest.mark.parametrize("profile, window", [("quick", None), ("paper", 19)])
def test_the_paper_profile_aligns_the_released_window(profile, window, tmp_path, monkeypatch):
    """The paper profile extracts with the released code's 19 positions; elsewhere the receptive field."""
    import keras_motifs.filters
    from keras_motifs.sweep.steps import _filters

    seen = {}
    monkeypatch.setattr(keras_motifs.filters, "write_layer_motifs", lambda *args, **kwargs: seen.update(kwargs))
    sweep = resolve_sweep(profile)
    _filters(sweep, tmp_path / "d.h5", RunFolder(tmp_path / "run"), ["conv1"])
    assert sweep.window == window and seen["window"] == window
    assert resolve_sweep("quick", window=19).window == 19


def test_a_folder_recorded_before_the_protocol_settings_existed_resumes(tmp_path):
    """sweep.json of an older version lacks monitor, min_delta, lr_patience, lr_factor: it was trained with the defaults."""
    from keras_motifs.sweep.settings import check_resumable

    sweep = resolve_sweep("paper")
    old = {k: v for k, v in dataclasses.asdict(sweep).items() if k not in ("monitor", "min_delta", "lr_patience",
                                                                          "lr_factor")}
    (tmp_path / "sweep.json").write_text(json.dumps(old))
    check_resumable(sweep, tmp_path / "sweep.json")
    check_resumable(dataclasses.replace(sweep, lr_factor=0.5), tmp_path / "sweep.json")  # unused: no cuts
    with pytest.raises(KerasMotifsError, match="monitor was 'val_loss', now 'val_auroc'"):
        check_resumable(dataclasses.replace(sweep, monitor="val_auroc"), tmp_path / "sweep.json")


def test_former_names_of_settings_are_read_in_configs_and_records(tmp_path):
    """What train's option, train_run's keyword and config.json called a setting is read under its name.

    sweep.json has always named them callback_every and lr; a record or config file that uses a former
    name (copied from a config.json, or from train's options) resumes and runs as the current name.
    """
    from keras_motifs.sweep.settings import Sweep, check_resumable, read_record

    config = tmp_path / "sweep.yaml"
    config.write_text("motif-callback-every: 3\nlearning_rate: 0.001\n")
    sweep = resolve_sweep("quick", config)
    assert sweep.callback_every == 3 and sweep.lr == 1e-3
    config.write_text("motif_every: 3\ncallback_every: 2\n")
    with pytest.raises(KerasMotifsError, match="motif_every .the former name of callback_every. is 3 but "
                                               "callback_every is 2; give only callback_every"):
        resolve_sweep("quick", config)
    record = tmp_path / "sweep.json"
    old = {("motif_every" if k == "callback_every" else k): v for k, v in dataclasses.asdict(sweep).items()}
    record.write_text(json.dumps(old))
    assert Sweep(**read_record(record)) == sweep  # a worker's reading
    check_resumable(sweep, record)
    with pytest.raises(KerasMotifsError, match="callback_every was 3, now 1"):
        check_resumable(dataclasses.replace(sweep, callback_every=1), record)


@pytest.mark.parametrize("argv", [["--epochs", "inf"], ["--lr", "nan"]])
def test_non_finite_numbers_are_refused_before_any_work(argv, tmp_path, capsys):
    from keras_motifs.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train", "--data", "d.h5", "--arch", "cnn-25", "--out", str(tmp_path / "r"), *argv])
    assert stop.value.code == 2 and "expected" in capsys.readouterr().err
    with pytest.raises(KerasMotifsError, match="min_delta must be a number >= 0, got nan"):
        resolve_sweep("quick", min_delta=float("nan"))


@pytest.mark.parametrize("config, message", [
    ("seed: -1\n", "seed must be an integer >= 0, got -1"),
    ("seed: '1'\n", "seed must be an integer >= 0, got '1'"),
    ("jaspar_release: 2016\n", "jaspar_release must be a release name, got 2016"),
    ("data: 7\n", "data must be a dataset path, got 7"),
])
def test_a_mistyped_config_value_is_refused_before_the_folder_is_written(config, message, tmp_path, capsys):
    """A seed numpy refuses would otherwise crash after sweep.json was written, locking the fixed command out."""
    (tmp_path / "c.yaml").write_text(config)
    out = tmp_path / "exp"
    assert main(["run", "--out", str(out), "--config", str(tmp_path / "c.yaml")]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_negative_seed_is_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "--out", "x.h5", "--seed", "-1"])
    assert stop.value.code == 2 and "argument --seed: expected an integer >= 0, got '-1'" in capsys.readouterr().err
