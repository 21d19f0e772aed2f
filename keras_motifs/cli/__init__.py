"""The ``keras-motifs`` command line: :func:`main` runs it, :func:`build_parser` describes it."""

from keras_motifs.cli.entry import main
from keras_motifs.cli.parser import build_parser

__all__ = ["build_parser", "main"]
