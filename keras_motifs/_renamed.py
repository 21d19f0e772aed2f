"""Former names of settings, still accepted: keyword arguments, and the keys of files and YAML configs.

Each setting has one name (``docs/design.md``, "One name per setting"). What earlier versions
called it keeps working: a former keyword argument with a ``DeprecationWarning`` naming the
new one, a former key of ``sweep.json``, ``config.json`` or a YAML sweep file silently.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import TypeVar

from keras_motifs.errors import KerasMotifsError

F = TypeVar("F", bound=Callable)


def renamed_keywords(**new_by_old: str) -> Callable[[F], F]:
    """Let a function take its keyword arguments' former names too, with a ``DeprecationWarning``.

    Parameters
    ----------
    **new_by_old : str
        Former name -> current name, e.g. ``motif_every="callback_every"``.

    Returns
    -------
    callable
        A decorator. The decorated function refuses a call that gives both names (``TypeError``,
        as Python does for a keyword given twice).
    """

    def decorate(function: F) -> F:
        name = function.__qualname__.removesuffix(".__init__")  # a class is called by its name

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in new_by_old.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got {old!r} and {new!r}; give only {new!r}")
                    warnings.warn(f"{name}(): {old!r} is now called {new!r}", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_keys(values: Mapping, new_by_old: Mapping[str, str], where: str) -> dict:
    """A file's or config's settings with former key names replaced by the current ones.

    Parameters
    ----------
    values : mapping
        Settings by name, as read from a file.
    new_by_old : mapping of str to str
        Former name -> current name.
    where : str
        The file, for the message when it gives both names with different values.

    Returns
    -------
    dict
    """
    renamed = dict(values)
    for old, new in new_by_old.items():
        if old in renamed:
            value = renamed.pop(old)
            if new in renamed and renamed[new] != value:
                raise KerasMotifsError(f"{where}: {old} (the former name of {new}) is {value!r} but {new} is "
                                       f"{renamed[new]!r}; give only {new}")
            renamed.setdefault(new, value)
    return renamed
