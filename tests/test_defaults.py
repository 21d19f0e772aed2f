"""Defaults live in keras_motifs.defaults; the CLI, the profiles and the functions agree with it."""

import dataclasses
import inspect
import re

import pytest

from keras_motifs import defaults
from keras_motifs.cli import build_parser
from keras_motifs.defaults import PAPER, QUICK
from keras_motifs.errors import KerasMotifsError
from keras_motifs.sweep.settings import PROFILES, Sweep, check_sweep, resolve_sweep

PROTOCOL_FIELDS = [f.name for f in dataclasses.fields(PAPER)]


def _subcommand(name):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


def test_profiles_are_the_protocols():
    for profile, protocol in (("paper", PAPER), ("quick", QUICK)):
        sweep = resolve_sweep(profile)
        assert {name: getattr(sweep, name) for name in PROTOCOL_FIELDS} == protocol.as_dict()
        assert {name: PROFILES[profile][name] for name in PROTOCOL_FIELDS} == protocol.as_dict()
    assert {name: getattr(Sweep(), name) for name in PROTOCOL_FIELDS} == PAPER.as_dict()


def test_train_command_and_functions_default_to_the_papers_protocol():
    from keras_motifs.training import fit, train_run

    train = _subcommand("train")
    assert {name: train.get_default(name) for name in PROTOCOL_FIELDS} == PAPER.as_dict()
    for function in (fit, train_run):  # the protocol is one argument, the paper's by default
        assert inspect.signature(function).parameters["protocol"].default is PAPER


def test_data_and_tomtom_defaults():
    from keras_motifs.data.synthetic import simulate
    from keras_motifs.motifs.tomtom import tomtom

    simulate_defaults = inspect.signature(simulate).parameters
    assert (simulate_defaults["num_seqs"].default, simulate_defaults["length"].default) == (
        defaults.NUM_SEQS, defaults.LENGTH)
    assert defaults.JASPAR_RELEASE == _subcommand("simulate").get_default("jaspar_release")
    assert _subcommand("simulate").get_default("num_seqs") == defaults.NUM_SEQS
    assert inspect.signature(tomtom).parameters["thresh"].default == defaults.EVALUE_THRESHOLD
    assert _subcommand("tomtom").get_default("evalue_threshold") == _subcommand("score").get_default("evalue_threshold") == \
        defaults.EVALUE_THRESHOLD
    assert _subcommand("tomtom").get_default("engine") == _subcommand("train").get_default("engine") == \
        Sweep().engine == defaults.ENGINE


def test_protocol_from_config_reads_a_config_json_of_any_version():
    """config.json of the first version: learning_rate (lr's former name), no monitor, min_delta, lr_patience, lr_factor."""
    import pytest

    from keras_motifs.defaults import PROTOCOL_BEFORE_RECORDED, Protocol
    from keras_motifs.errors import KerasMotifsError

    first = {"arch": "cnn-25", "trial": 0, "seed": 0, "epochs": 100, "epochs_run": 41, "best_epoch": 20,
             "patience": 20, "learning_rate": 1e-3, "batch_size": 100, "data": "d.h5"}
    assert Protocol.from_config(first) == Protocol(epochs=100, patience=20, lr=1e-3, batch_size=100,
                                                   **PROTOCOL_BEFORE_RECORDED)
    assert Protocol.from_config({**first, "monitor": "val_auroc"}).monitor == "val_auroc"
    assert Protocol.from_config({"arch": "cnn-25", **QUICK.as_dict()}) == QUICK  # as train_run writes it now
    with pytest.raises(KerasMotifsError, match="config.json: learning_rate .* is 0.001 but lr is 0.01; give only lr"):
        Protocol.from_config({**first, "lr": 1e-2})
    with pytest.raises(KerasMotifsError, match="config.json: lr must be a number, got '3e-4'"):
        Protocol.from_config({**first, "learning_rate": "3e-4"})
    with pytest.raises(KerasMotifsError, match="config.json: epochs must be an integer, got None"):
        Protocol.from_config({k: v for k, v in first.items() if k != "epochs"})


@pytest.mark.parametrize(("change", "message"), [
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"batch_size": True}, "batch_size must be a positive integer, got True"),
    ({"patience": -1}, "patience must be an integer >= 0, got -1"),
    ({"lr": 0.0}, "lr must be a positive number, got 0.0"),
    ({"lr": float("inf")}, "lr must be a positive number, got inf"),
    ({"monitor": "auroc"}, "monitor must be one of val_loss, val_auroc, val_aupr, got 'auroc'"),
    ({"min_delta": float("nan")}, "min_delta must be a number >= 0, got nan"),
    ({"lr_factor": 1.5}, "lr_factor must be between 0 and 1, got 1.5"),
])
def test_one_protocol_check_for_training_callbacks_and_sweeps(change, message):
    """fit, protocol_callbacks and a sweep's check refuse a protocol in the same words (a sweep names its file)."""
    protocol = dataclasses.replace(PAPER, **change)
    with pytest.raises(KerasMotifsError, match=f"^{re.escape(message)}$"):
        protocol.check()
    sweep = dataclasses.replace(resolve_sweep("quick"), **change)
    with pytest.raises(KerasMotifsError, match=f"^{re.escape('my.yaml: ' + message)}$"):
        check_sweep(sweep, "my.yaml")
