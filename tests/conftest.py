"""Shared fixtures: small datasets the tests make themselves."""

import os
import signal
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from keras_motifs.data.synthetic import simulate  # noqa: E402
from keras_motifs.data.writer import write_dataset


def pytest_configure(config):
    """Give Ctrl-C its terminal meaning, also when the test run was started in the background.

    A command started with ``&`` by a shell without job control (a CI script, nohup)
    inherits SIGINT ignored, and so would every command the tests start: the tests of
    what Ctrl-C does need it as in a terminal. Python's own handler is not inherited by
    the commands started (exec resets it to the default, which Python makes its own).
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


#: Real MEME-suite output, copied into the repository (see its README.md).
SAMPLES = Path(__file__).parent / "data" / "meme"


@pytest.fixture
def samples() -> Path:
    """The folder of real MEME-suite samples: filters.meme and MEME 5.5.8's Tomtom table of them."""
    return SAMPLES


@pytest.fixture(scope="session")
def small_dataset():
    """300 synthetic sequences of the paper's generator (seed 7)."""
    return simulate(num_seqs=300, seed=7)


@pytest.fixture(scope="session")
def small_dataset_file(tmp_path_factory, small_dataset):
    """``small_dataset`` written to an HDF5 file."""
    path = tmp_path_factory.mktemp("data") / "small.h5"
    write_dataset(path, small_dataset)
    return path
