"""Classes named by ``module:Class`` references, as workflow files and stored outputs name them.

A reference is imported only from an allowed module: ECL's own packages (``ecl_core``,
``ecl_dagster``) and the module prefixes listed in ``ECL_ALLOWED_MODULES`` (comma-separated;
a prefix allows the module itself and its submodules, so ``acme`` allows ``acme`` and
``acme.steps`` but not ``acme_evil``). The check comes before the import, so a workflow file
cannot make ECL import, and so run, any other module.
"""

import importlib
import os
from typing import TypeVar

from ecl_core.errors import ConfigError

__all__ = ["ALLOWED_MODULES_ENV_VAR", "allowed_module_prefixes", "import_class", "reference_of"]

T = TypeVar("T")
ALLOWED_MODULES_ENV_VAR = "ECL_ALLOWED_MODULES"
_BUILT_IN = ("ecl_core", "ecl_dagster")


def allowed_module_prefixes() -> tuple[str, ...]:
    """ECL's packages and the prefixes in ``$ECL_ALLOWED_MODULES``, in that order."""
    extra = os.environ.get(ALLOWED_MODULES_ENV_VAR, "")
    return _BUILT_IN + tuple(p.strip() for p in extra.split(",") if p.strip())


def _allowed(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in allowed_module_prefixes())


def import_class(reference: str, base: type[T], what: str) -> type[T]:
    """The class ``reference`` (``module:Class``) names; it must be a subclass of ``base``.

    Args:
        reference: ``module:Class``.
        base: The class it must derive from.
        what: What the reference is, for the message (``"input model"``, ``"step type"``).

    Raises:
        ConfigError: The module is not allowed (checked before any import; the message
            names ``ECL_ALLOWED_MODULES``), it cannot be imported, or the class is not a
            subclass of ``base``.
    """
    module, _, name = reference.partition(":")
    if not _allowed(module):
        raise ConfigError(
            f"{what} '{reference}' is in module '{module}', which is not allowed: classes are "
            f"imported only from {', '.join(allowed_module_prefixes())}; add the module's "
            f"package to {ALLOWED_MODULES_ENV_VAR} (comma-separated prefixes) to allow it"
        )
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(
            f"{what} '{reference}' cannot be imported (write it as 'module:Class')"
        ) from None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ConfigError(f"{what} '{reference}' is not a {base.__name__} subclass")
    return found


def reference_of(cls: type) -> str:
    """``module:Class`` for ``cls``; ``import_class`` reads it back."""
    return f"{cls.__module__}:{cls.__qualname__}"
