"""Shared fixtures: small datasets the tests make themselves."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from keras_motifs.data import simulate, write_dataset  # noqa: E402

#: Real MEME-suite output shared with the project (``shared/`` sits beside the repository).
SAMPLES = Path(__file__).parents[2] / "shared" / "samples"


@pytest.fixture
def samples() -> Path:
    """The shared samples folder; the test is skipped where it is absent."""
    if not (SAMPLES / "filters.meme").exists() or not (SAMPLES / "tomtom_meme-5.5.8.tsv").exists():
        pytest.skip(f"shared samples not found at {SAMPLES} (shared/ beside the repo)")
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
