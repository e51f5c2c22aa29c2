"""Finding the Registry a command names: `MODULE:ATTR`, `path/to/file.py:ATTR` or `MODULE`.

Used by `duroxide worker`, `duroxide replay` and the crash-test child process. The module is
imported with the current directory on sys.path (a file's own directory too, so its sibling
modules import). ATTR may be dotted, a Registry, a Runtime (what it serves), a test
environment with a `.registry`, or a function returning one of those; MODULE alone names the
module's only Registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.worker.registry import Registry


def as_registry(obj: Any) -> Registry:
    """`obj` as a Registry: itself, a Runtime's registrations, or a test environment's."""
    if isinstance(obj, Registry):
        return obj
    own = getattr(obj, "_registry", None)
    if isinstance(own, Registry):  # a Runtime: the registry it follows plus its own ones
        combined = Registry()
        followed = getattr(obj, "_followed", None)
        if isinstance(followed, Registry):
            combined.include(followed)
        combined.include(own)
        return combined
    inner = getattr(obj, "registry", None)  # a test environment
    if isinstance(inner, Registry):
        return inner
    raise InvalidTypeError(f"registry must be a duroxide.Registry (or a Runtime), "
                           f"not {type(obj).__name__}")


def load_registry(spec: str) -> Registry:
    """The Registry named by `spec`.

    Raises:
        InvalidArgumentError: the module cannot be imported, has no such attribute, or the
            attribute is not (and does not give) a duroxide.Registry.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise InvalidArgumentError(f"expected MODULE:ATTR naming a duroxide.Registry, got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = _import(module_name)
    except InvalidArgumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's module
        raise InvalidArgumentError(f"cannot import module '{module_name}': "
                                   f"{type(exc).__name__}: {exc}") from None
    if not attr:
        found = [v for v in vars(module).values() if isinstance(v, Registry)]
        if len(found) != 1:
            raise InvalidArgumentError(f"{module_name} has {len(found)} duroxide.Registry "
                                       f"objects; name one as {module_name}:ATTR")
        return found[0]
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InvalidArgumentError(f"module '{module_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, Registry) and not hasattr(obj, "registry"):
        obj = obj()  # a factory
    try:
        return as_registry(obj)
    except InvalidTypeError:
        raise InvalidArgumentError(
            f"'{spec}' is a {type(obj).__name__}, not a duroxide.Registry") from None


def _import(module_name: str) -> ModuleType:
    if not (module_name.endswith(".py") or os.sep in module_name):
        return importlib.import_module(module_name)
    path = os.path.abspath(module_name)
    if not os.path.isfile(path):
        raise InvalidArgumentError(f"cannot import module '{module_name}': file not found")
    if os.path.dirname(path) not in sys.path:  # its sibling modules import too
        sys.path.insert(0, os.path.dirname(path))
    name = os.path.splitext(os.path.basename(path))[0]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InvalidArgumentError(f"cannot import module '{module_name}'")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    loader_spec.loader.exec_module(module)
    return module
