"""The settings of a sweep (``keras-motifs run``): profiles, config files, checks, and what fixes a folder.

A sweep's settings are recorded in ``DIR/sweep.json``; a folder is resumed only with
the settings its finished steps were made with (:func:`check_resumable`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from keras_motifs._renamed import renamed_keys
from keras_motifs.defaults import (
    ENGINE,
    ENGINES,
    EXTRACTION_METHODS,
    JASPAR_RELEASE,
    LENGTH,
    NUM_SEQS,
    PAPER,
    PROTOCOL_BEFORE_RECORDED,
    PROTOCOL_FORMER_NAMES,
    QUICK,
    RELEASED_WINDOW,
    Protocol,
    one_of,
)
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.io.files import read_json
from keras_motifs.models import ARCHITECTURES, POOLING_SWEEP, get_spec

#: The settings of a sweep that make its training protocol (:class:`keras_motifs.defaults.Protocol`).
PROTOCOL_FIELDS = tuple(f.name for f in dataclasses.fields(Protocol))
#: Former names of sweep settings, still read in YAML configs and ``sweep.json``: what ``train``'s
#: option (``--motif-callback-every``), ``train_run``'s keyword and ``config.json`` called them.
FORMER_NAMES = {"motif_callback_every": "callback_every", "motif_every": "callback_every", **PROTOCOL_FORMER_NAMES}


@dataclass
class Sweep:
    """Everything a run of the experiment needs; profiles and config files fill it in.

    Attributes
    ----------
    archs : list of str
        Architecture names of the registry.
    trials : int
        Trials per architecture; trial k trains with seed ``seed + k``.
    epochs, patience, lr, batch_size, monitor, min_delta, lr_patience, lr_factor
        The training protocol, field by field (:attr:`protocol`; see :class:`keras_motifs.defaults.Protocol`).
    num_seqs, length : int
        Size of the synthetic dataset (ignored with ``data``).
    data : str, optional
        A dataset file to use instead of simulating.
    engine : str
        Tomtom engine, ``"memelite"`` or ``"meme"``.
    jaspar_release : str
        JASPAR release of the database and of the synthetic motifs.
    seed : int
        Base seed of the data and of the trials.
    method : str
        Filter extraction method, ``"code"`` or ``"paper"``.
    window : int, optional
        Input positions aligned per filter; None: each layer's receptive field
        (see :func:`keras_motifs.filters.fixed_window`).
    callback_every : int
        Score first-layer filters every this many epochs during training (0: never).
    """

    archs: list[str] = field(default_factory=lambda: list(POOLING_SWEEP))
    trials: int = 1
    epochs: int = PAPER.epochs
    patience: int = PAPER.patience
    lr: float = PAPER.lr
    batch_size: int = PAPER.batch_size
    monitor: str = PAPER.monitor
    min_delta: float = PAPER.min_delta
    lr_patience: int = PAPER.lr_patience
    lr_factor: float = PAPER.lr_factor
    num_seqs: int = NUM_SEQS
    length: int = LENGTH
    data: str | None = None
    engine: str = ENGINE
    jaspar_release: str = JASPAR_RELEASE
    seed: int = 0
    method: str = "code"
    callback_every: int = 1
    window: int | None = None

    @property
    def protocol(self) -> Protocol:
        """The training protocol of these settings (its fields are the sweep's settings of the same names)."""
        return Protocol(**{name: getattr(self, name) for name in PROTOCOL_FIELDS})


#: Preset sweeps: the seven pooling architectures once with the laptop protocol
#: (:data:`keras_motifs.defaults.QUICK`), or every architecture of the registry five times with the paper's.
PROFILES: dict[str, dict] = {
    "quick": {"archs": list(POOLING_SWEEP), "trials": 1, **QUICK.as_dict()},
    "paper": {"archs": list(ARCHITECTURES), "trials": 5, **PAPER.as_dict(), "window": RELEASED_WINDOW},
}


def resolve_sweep(profile: str = "quick", config: str | os.PathLike | None = None, **overrides) -> Sweep:
    """Combine a profile, a YAML config file and explicit overrides (in that order of precedence, lowest first).

    Parameters
    ----------
    profile : str
        ``"quick"`` or ``"paper"``. Default is "quick".
    config : str or PathLike, optional
        YAML file with any of the fields of :class:`Sweep`. Default is None.
    **overrides
        Fields of :class:`Sweep`; None values are ignored.

    Returns
    -------
    Sweep
    """
    if profile not in PROFILES:
        raise KerasMotifsError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    values = dict(PROFILES[profile])
    if config is not None:
        values.update(read_config(Path(config)))
    values.update({key: value for key, value in overrides.items() if value is not None})
    known = {f.name for f in dataclasses.fields(Sweep)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise KerasMotifsError(f"unknown sweep setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if isinstance(values.get("archs"), str):
        values["archs"] = [name.strip() for name in values["archs"].split(",") if name.strip()]
    sweep = Sweep(**values)
    check_sweep(sweep, where=str(config) if config else "sweep")
    return sweep


def read_config(path: Path) -> dict:
    """Read a YAML sweep file (keys as on the command line, dashes or underscores)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise KerasMotifsError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KerasMotifsError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return renamed_keys({str(key).replace("-", "_"): value for key, value in data.items()}, FORMER_NAMES, str(path))


def check_sweep(sweep: Sweep, where: str) -> None:
    """Validate a sweep before any work starts."""
    if not sweep.archs:
        raise KerasMotifsError(f"{where}: no architectures given")
    for name in sweep.archs:
        get_spec(name)  # unknown names fail here, listing the known ones
    sweep.protocol.check(where)
    for name in ("trials", "num_seqs", "length"):
        check_integer(getattr(sweep, name), f"{where}: {name}")
    for name in ("callback_every", "seed"):
        check_integer(getattr(sweep, name), f"{where}: {name}", minimum=0)
    if sweep.engine not in ENGINES:
        raise KerasMotifsError(f"{where}: engine must be {one_of(ENGINES)}, got {sweep.engine!r}")
    if sweep.method not in EXTRACTION_METHODS:
        raise KerasMotifsError(f"{where}: method must be {one_of(EXTRACTION_METHODS)}, got {sweep.method!r}")
    if not isinstance(sweep.jaspar_release, str):
        raise KerasMotifsError(f"{where}: jaspar_release must be a release name, got {sweep.jaspar_release!r}")
    if sweep.data is not None and not isinstance(sweep.data, str):
        raise KerasMotifsError(f"{where}: data must be a dataset path, got {sweep.data!r}")
    if sweep.window is not None:
        check_integer(sweep.window, f"{where}: window")


#: Settings that the outputs already in a folder depend on (the protocol and these); archs and trials may grow.
FIXED_ON_RESUME = (*PROTOCOL_FIELDS, "num_seqs", "length", "data", "engine", "jaspar_release", "seed", "method",
                   "callback_every", "window")
#: What a folder recorded before a setting existed was trained with.
_BEFORE_RECORDED = {**PROTOCOL_BEFORE_RECORDED, "window": None}


def check_resumable(sweep: Sweep, record: Path) -> None:
    """Refuse to resume a folder whose finished steps were made with other settings."""
    if not record.exists():
        return
    previous = {**_BEFORE_RECORDED, **read_record(record)}
    fixed = [key for key in FIXED_ON_RESUME if not (key == "lr_factor" and sweep.lr_patience == 0)]  # unused then
    changed = [f"{key} was {previous.get(key)!r}, now {getattr(sweep, key)!r}"
               for key in fixed if previous.get(key) != getattr(sweep, key)]
    if changed:
        raise KerasMotifsError(
            f"{record.parent}: holds a run with other settings ({'; '.join(changed)}); "
            "use another output folder, or the same settings to resume"
        )


def read_record(record: Path) -> dict:
    """A folder's ``sweep.json``, any setting under a former name (:data:`FORMER_NAMES`) read under its name."""
    return renamed_keys(read_json(record, what="sweep record"), FORMER_NAMES, str(record))
