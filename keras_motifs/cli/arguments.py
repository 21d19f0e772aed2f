"""Value types and shared options of the ``keras-motifs`` argument parser."""

from __future__ import annotations

import argparse
import math


def bounded(convert, minimum: float, strict: bool, what: str):
    """An argparse type: ``convert(text)``, at least (or, if ``strict``, above) ``minimum``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


positive_int = bounded(int, 1, False, "a positive integer")
non_negative_int = bounded(int, 0, False, "an integer >= 0")
positive_float = bounded(float, 0, True, "a positive number")
non_negative_float = bounded(float, 0, False, "a number >= 0")


def run_name(text: str) -> tuple[str, int]:
    """argparse type: a run as its folder is named under runs/, ``ARCH/trialK`` -> (ARCH, K)."""
    arch, _, trial = text.rpartition("/trial")
    if not arch or not trial.isdigit():
        raise argparse.ArgumentTypeError(f"expected a run as ARCH/trialK (e.g. cnn-25/trial0), got {text!r}")
    return arch, int(trial)


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """``--import MODULE_OR_FILE`` (repeatable): the user's code that registers a saved model's custom objects."""
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE_OR_FILE",
                        help="a module (mylab.layers) or Python file (./layers.py) that registers the model's custom "
                             "layers or classes with Keras, imported before loading it (repeatable)")


def add_former_name(parser: argparse._ActionsContainer, former: str, action: argparse.Action) -> None:
    """Accept ``former``, an option's earlier name, as that option (``--help`` shows the current name only).

    Parameters
    ----------
    parser : argparse.ArgumentParser or its argument group
        Where the option was added (its mutually exclusive group, for the former name to exclude the same options).
    former : str
        The former option string, e.g. ``--thresh``.
    action : argparse.Action
        The option as ``add_argument`` returned it.
    """
    parser.add_argument(former, dest=action.dest, type=action.type, choices=action.choices, metavar=action.metavar,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def fractions(text: str) -> tuple[float, float, float]:
    """argparse type: three comma-separated fractions, e.g. 0.7,0.1,0.2."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.7,0.1,0.2, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.7,0.1,0.2, got {text!r}")
    return values
