"""Shared fixtures: small datasets the tests make themselves."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from keras_motifs.data import simulate, write_dataset  # noqa: E402

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
