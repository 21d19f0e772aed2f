"""Users' own Keras objects: importing the code that registers them before a saved model is loaded.

A model that uses a custom layer, a subclassed model class, or was compiled with a
custom loss names those objects in its saved config. Keras finds them in its
registry of serializable objects (``@keras.saving.register_keras_serializable``),
so the command line imports the user's module first (``--import``) and then loads
the model with Keras' safe mode on, as usual: only registered code runs, never
code stored in the file (``Lambda`` layers stay refused).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from keras_motifs.errors import KerasMotifsError

__all__ = ["import_user_code"]


def import_user_code(modules: Sequence[str]) -> list[ModuleType]:
    """Import each module that registers a user's Keras objects, in order.

    Parameters
    ----------
    modules : sequence of str
        Each a dotted module name importable from the current environment
        (``mylab.layers``) or the path of a Python file (``./layers.py``), which
        is imported under its file name (``layers``).

    Returns
    -------
    list of module
        The modules imported.

    Raises
    ------
    KerasMotifsError
        A module that is not found or fails while importing: the message names it
        and gives the error it raised.
    """
    return [_import_one(str(module)) for module in modules]


def _import_one(module: str) -> ModuleType:
    """Import a dotted module name or a ``.py`` file; any failure as a KerasMotifsError naming it."""
    is_file = module.endswith(".py") or "/" in module or "\\" in module
    try:
        if not is_file:
            return importlib.import_module(module)
        path = Path(module)
        if not path.is_file():
            raise KerasMotifsError(f"--import {module}: file not found")
        name = path.stem
        taken = sys.modules.get(name)
        if taken is not None and Path(getattr(taken, "__file__", "") or "").resolve() != path.resolve():
            raise KerasMotifsError(f"--import {module}: a module named {name!r} is already imported; rename the file")
        spec =  importlib.util.spec_from_file_location(name, path)
        imported = importlib.util.module_from_spec(spec)
        sys.modules[name] = imported
        try:
            spec.loader.exec_module(imported)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return imported
    except KerasMotifsError:
        raise
    except ModuleNotFoundError as err:
        hint = "" if is_file or err.name != module.split(".")[0] else "; for a file, give its path (./name.py)"
        raise KerasMotifsError(f"--import {module}: cannot import it ({type(err).__name__}: {err}){hint}") from None
    except (Exception, SystemExit) as err:  # the user's code may raise anything while it runs
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else "no message"
        raise KerasMotifsError(f"--import {module}: cannot import it ({type(err).__name__}: {reason})") from None
