"""The command-line tool: subcommands and clean failures."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_motifs.cli import main


def run(argv, capsys):
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_simulate_then_train(tmp_path, capsys):
    data = tmp_path / "d.h5"
    status, out, _ = run(["simulate", "--out", data, "--num-seqs", 200, "--seed", 1], capsys)
    assert status == 0 and "140 train" in out and data.exists()
    staged = tmp_path / "task" / "d.h5"  # as Nextflow stages an input: a link in the task's work folder
    staged.parent.mkdir()
    staged.symlink_to(data)
    status, out, err = run(
        ["train", "--data", staged, "--arch", "cnn-10", "--out", tmp_path / "run", "--epochs", 1,
         "--no-motif-callback", "--lr", "1e-3"], capsys)
    assert status == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["lr"] == 1e-3 and config["arch"] == "cnn-10"
    assert config["data"] == str(staged)  # as given, not where the link points (another task's folder)
    import keras

    assert config["device"] in keras.distribution.list_devices()  # the device trained on, recorded
    assert config["fit_seconds"] > 0 and config["seconds_per_epoch"] == pytest.approx(
        config["fit_seconds"] / config["epochs_run"], abs=1e-3)


def test_require_gpu_fails_at_once_without_a_gpu(tmp_path, capsys, small_dataset_file):
    import keras

    if any(d.startswith("gpu") for d in keras.distribution.list_devices()):
        pytest.skip("this machine has a GPU")
    status, _, err = run(["train", "--data", small_dataset_file, "--arch", "cnn-25", "--out", tmp_path / "run",
                          "--require-gpu"], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("keras-motifs: error: no GPU visible to the ") and "--require-gpu" in err
    assert not (tmp_path / "run").exists()


def test_train_with_spec_file(tmp_path, capsys, small_dataset_file):
    spec = {"name": "tiny", "conv_layers": [{"filters": 4, "kernel_size": 5, "pool_size": 20}], "dense_units": 8}
    (tmp_path / "tiny.json").write_text(json.dumps(spec))
    status, _, err = run(["train", "--data", small_dataset_file, "--arch", tmp_path / "tiny.json",
                          "--out", tmp_path / "run", "--epochs", 1, "--no-motif-callback"], capsys)
    assert status == 0, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["spec"]["dense_units"] == 8


def test_former_option_names_still_work(tmp_path, capsys, samples):
    """--motif-callback-every, --thresh and --db, the options' former names, set the options; --help shows the new."""
    from keras_motifs.cli import build_parser

    parser = build_parser()
    train = ["train", "--data", "d.h5", "--arch", "cnn-25", "--out", "run"]
    assert parser.parse_args(train + ["--motif-callback-every", "3"]).callback_every == 3
    assert parser.parse_args(train + ["--callback-every", "3"]).callback_every == 3
    assert parser.parse_args(train).callback_every == 1 and parser.parse_args(train + ["--no-motif-callback"]).callback_every == 0
    with pytest.raises(SystemExit):
        parser.parse_args(train + ["--motif-callback-every", "3", "--no-motif-callback"])
    assert "argument --no-motif-callback: not allowed with argument --motif-callback-every" in capsys.readouterr().err
    tomtom = parser.parse_args(["tomtom", "--query", "q.meme", "--out", "t.tsv", "--thresh", "0.5", "--db", "x.meme"])
    assert (tomtom.evalue_threshold, tomtom.database) == (0.5, "x.meme")
    out = tmp_path / "score.json"
    status, _, err = run(["score", "--tomtom", samples / "tomtom_meme-5.5.8.tsv", "--filters", samples / "filters.meme",
                          "--out", out, "--thresh", "1e-300", "--db", "JASPAR2016"], capsys)
    assert status == 0, err
    assert json.loads(out.read_text())["evalue_threshold"] == 1e-300 and json.loads(out.read_text())["match_any_frac"] == 0
    for sub, former in (("train", "--motif-callback-every"), ("tomtom", "--thresh"), ("score", "--db")):
        with pytest.raises(SystemExit):
            parser.parse_args([sub, "--help"])
        assert former not in capsys.readouterr().out


def test_describe(capsys):
    status, out, _ = run(["describe", "--arch", "cnn-2"], capsys)
    assert status == 0 and "Bottleneck: layer2" in out


def test_describe_refuses_a_spec_that_does_not_fit_the_length(tmp_path, capsys):
    """No verdict about representations for a model that cannot be built: build_model's message."""
    from keras_motifs.errors import KerasMotifsError
    from keras_motifs.models import build_model, load_spec

    spec = {"name": "wide", "conv_layers": [{"filters": 8, "kernel_size": 19, "pool_size": 500}]}
    (tmp_path / "wide.json").write_text(json.dumps(spec))
    status, out, err = run(["describe", "--arch", tmp_path / "wide.json", "--length", 200], capsys)
    with pytest.raises(KerasMotifsError) as built:
        build_model(load_spec(tmp_path / "wide.json"), input_length=200)
    assert status == 2 and out == "" and err == f"keras-motifs: error: {built.value}\n"
    assert "layer 1 pools over 500 positions but only 200 remain" in err


def test_describe_a_saved_model_measures_each_layer(tmp_path, capsys):
    import keras

    inputs = keras.Input((200, 4))
    x = keras.layers.Conv1D(8, 9, padding="same", name="scan")(inputs)
    x = keras.layers.Cropping1D(5, name="crop")(x)
    x = keras.layers.Conv1D(8, 5, dilation_rate=2, name="dilated")(x)
    x = keras.layers.MaxPooling1D(10, name="pool")(x)
    x = keras.layers.Dense(3, name="out")(keras.layers.Flatten(name="flat")(x))
    keras.Model(inputs, x, name="mine").save(tmp_path / "m.keras")
    status, out, err = run(["describe", "--model", tmp_path / "m.keras"], capsys)
    assert status == 0, err
    rows = {line.split()[0]: line.split(None, 4)[2:] for line in out.splitlines()[2:]}
    assert rows["scan"] == ["9", "1", "yes"] and rows["crop"] == ["9", "1", "no: no filters of its own"]
    assert rows["dilated"] == ["17", "1", "yes"]  # 9 + (5 - 1) x 2
    assert rows["pool"][:2] == ["26", "10"]  # 17 + 10 - 1
    assert rows["pool"][2].startswith("no: outputs come after pooling in 'pool' (their positions are uncertain")
    assert rows["flat"][:2] == ["-", "-"] and "no positions" in rows["flat"][2]
    status, _, err = run(["describe", "--model", tmp_path / "absent.keras"], capsys)
    assert status == 2 and "absent.keras: model file not found" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--arch", "cnn-3"], "unknown architecture 'cnn-3'; known: cnn-1"),
        (["train", "--arch", "{spec}"], "conv_layers[0]: missing field(s) kernel_size"),
        (["train", "--arch", "cnn-100", "--data", "{short}"], "layer 1 pools over 100 positions but only 70 remain"),
        (["train", "--arch", "cnn-25", "--data", "{broken}"], "broken.h5: not a keras-motifs dataset, missing keys"),
        (["train", "--arch", "cnn-25", "--data", "{absent}"], "absent.h5: dataset file not found"),
    ],
)
def test_bad_input_fails_cleanly(tmp_path, capsys, small_dataset_file, argv, message):
    import h5py

    (tmp_path / "spec.json").write_text(json.dumps({"conv_layers": [{"filters": 4}]}))
    with h5py.File(tmp_path / "broken.h5", "w") as h5:
        h5["x_train"] = [[[0, 0, 0, 1]]]
    run(["simulate", "--out", tmp_path / "short.h5", "--num-seqs", 20, "--length", 70, "--tfs", "SP1"], capsys)
    paths = {"spec": tmp_path / "spec.json", "short": tmp_path / "short.h5", "broken": tmp_path / "broken.h5",
             "absent": tmp_path / "absent.h5"}
    argv = [a.format(**paths) for a in argv]
    if "--data" not in argv:
        argv += ["--data", str(small_dataset_file)]
    status, _, err = run(argv + ["--out", tmp_path / "run", "--epochs", 1, "--no-motif-callback"], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("keras-motifs: error: ") and message in err
    assert not (tmp_path / "run").exists()


def test_console_script_reports_errors_without_traceback():
    script = shutil.which("keras-motifs")
    if script is None:
        pytest.skip("the keras-motifs console script is not installed (pip install .)")
    result = subprocess.run([script, "describe", "--arch", "nope"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "unknown architecture 'nope'" in result.stderr


def test_encode_command(tmp_path, capsys):
    records = {f"s{i}": "ACGTN" * 4 for i in range(10)}
    (tmp_path / "seqs.fa").write_text("".join(f">{k}\n{v}\n" for k, v in records.items()))
    (tmp_path / "labels.tsv").write_text("id\tCTCF\n" + "".join(f"{k}\t{i % 2}\n" for i, k in enumerate(records)))
    status, out, err = run(["encode", "--fasta", tmp_path / "seqs.fa", "--labels", tmp_path / "labels.tsv",
                            "--out", tmp_path / "d.h5", "--split", "0.6,0.2,0.2"], capsys)
    assert status == 0, err
    from keras_motifs.data.reader import load_dataset

    data = load_dataset(tmp_path / "d.h5")
    assert data.class_names == ["CTCF"] and data.x["train"].shape == (6, 20, 4)
    status, _, err = run(["encode", "--train-fasta", tmp_path / "seqs.fa", "--labels", tmp_path / "labels.tsv",
                          "--out", tmp_path / "e.h5"], capsys)
    assert status == 2 and "all three of --train-fasta, --valid-fasta and --test-fasta" in err


def test_filters_and_outputs_fail_cleanly(tmp_path, capsys, small_dataset_file):
    from keras_motifs.models import build_model

    build_model("cnn-25", input_length=300).save(tmp_path / "m.keras")
    status, _, err = run(["filters", "--model", tmp_path / "m.keras", "--data", small_dataset_file,
                          "--out", tmp_path / "f.meme"], capsys)
    assert status == 2 and f"{small_dataset_file} does not fit model {tmp_path / 'm.keras'}" in err
    assert "expects (None, 300, 4), got sequences of shape (60, 200, 4)" in err
    (tmp_path / "notes.txt").write_text("not a model")
    status, _, err = run(["filters", "--model", tmp_path / "notes.txt", "--data", small_dataset_file,
                          "--out", tmp_path / "f.meme"], capsys)
    assert status == 2 and "expected a saved Keras model" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run(["simulate", "--out", blocker / "d.h5", "--num-seqs", 20, "--tfs", "SP1"], capsys)
    assert status == 2 and err.count("\n") == 1 and "d.h5" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "m.keras", "notes.txt"]


NO_BACKEND = """
import sys
from keras_motifs.cli import main
for argv in (["--help"], ["tomtom", "--help"], ["jaspar", "--release", "JASPAR2016", "--out", sys.argv[1]]):
    try:
        main(argv)
    except SystemExit:
        pass
assert "keras" not in sys.modules and "tensorflow" not in sys.modules, "a backend was imported"
"""

RELOAD = """
import sys
import keras_motifs
assert "keras" not in sys.modules
import keras
model = keras.models.load_model(sys.argv[1])
assert type(model.get_layer("conv1")).__name__ == "ConvBlock"
"""


def test_help_and_model_free_commands_do_not_import_a_backend(tmp_path):
    result = subprocess.run([sys.executable, "-c", NO_BACKEND, str(tmp_path / "db.meme")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "db.meme").is_file()


def test_saved_model_reloads_when_keras_comes_after_the_package(tmp_path):
    from keras_motifs.models import build_model

    build_model("cnn-25").save(tmp_path / "m.keras")
    result = subprocess.run([sys.executable, "-c", RELOAD, str(tmp_path / "m.keras")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_model_commands_print_no_backend_start_up_lines():
    result = subprocess.run([sys.executable, "-m", "keras_motifs.cli", "describe", "--arch", "cnn-25"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Bottleneck: layer1" in result.stdout
    assert result.stderr == ""


THREADS = """
import os, sys

seen = {}


class RecordEnvironmentAtImport:
    \"\"\"What TensorFlow's and numba's thread variables were when each was first imported (when they read them).\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name in ("tensorflow", "numba") and name not in seen:
            seen[name] = [os.environ.get(v, "-") for v in ("TF_NUM_INTRAOP_THREADS", "NUMBA_NUM_THREADS",
                                                           "TF_FORCE_GPU_ALLOW_GROWTH")]
        return None


sys.meta_path.insert(0, RecordEnvironmentAtImport())
from keras_motifs.cli import main
assert main(sys.argv[1:]) == 0
import numba
print(" ".join(seen["tensorflow"] + seen["numba"]))
"""


@pytest.mark.parametrize("argv, expected", [
    (["--threads", "3", "describe", "--arch", "cnn-25"], "3 3 true 3 3 true"),
    (["describe", "--arch", "cnn-25"], "- - true - - true"),
])
def test_threads_and_gpu_sharing_are_set_before_the_backend_starts(argv, expected):
    """--threads (the pipeline passes task.cpus) reaches every thread pool; GPU memory is taken as needed."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS",
                                                           "NUMBA_NUM_THREADS", "TF_FORCE_GPU_ALLOW_GROWTH")}
    result = subprocess.run([sys.executable, "-c", THREADS, *argv], capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == expected


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--threads", "0", "describe", "--arch", "cnn-25"])
    assert stop.value.code == 2 and "argument --threads: expected a positive integer, got '0'" in capsys.readouterr().err


def test_report_expect_takes_run_names(capsys):
    from keras_motifs.cli import build_parser

    args = build_parser().parse_args(["report", "--runs", "r", "--out", "o", "--expect", "cnn-25/trial0", "a/b/trial12"])
    assert args.expect == [("cnn-25", 0), ("a/b", 12)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "--runs", "r", "--out", "o", "--expect", "cnn-25"])
    assert "expected a run as ARCH/trialK (e.g. cnn-25/trial0), got 'cnn-25'" in capsys.readouterr().err
