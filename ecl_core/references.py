"""Classes named by ``module:Class`` references, as workflow files and stored outputs name them."""

import importlib
from typing import TypeVar

from ecl_core.errors import ConfigError

__all__ = ["import_class", "reference_of"]

T = TypeVar("T")


def import_class(reference: str, base: type[T], what: str) -> type[T]:
    """The class ``reference`` (``module:Class``) names; it must be a subclass of ``base``.

    Args:
        reference: ``module:Class``.
        base: The class it must derive from.
        what: What the reference is, for the message (``"input model"``, ``"step type"``).

    Raises:
        ConfigError: It cannot be imported, or it is not a subclass of ``base``.
    """
    module, _, name = reference.partition(":")
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
