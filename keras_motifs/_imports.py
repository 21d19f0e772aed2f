"""Run a function once a module has been imported, whenever that happens."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of one module so that ``action`` runs after it."""

    def __init__(self, name: str, action: Callable[[], None]):
        self.name, self.action = name, action

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and out of the way of the real search below
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def execute_then_act(module):
            execute(module)
            self.action()

        spec.loader.exec_module = execute_then_act
        return spec


def call_after_import(name: str, action: Callable[[], None]) -> None:
    """Call ``action()`` right after the top-level module ``name`` is first imported (now, if it already is)."""
    if name in sys.modules:
        action()
    else:
        sys.meta_path.insert(0, _AfterImport(name, action))
