"""Classes named by ``module:Class`` references, as workflow files and stored outputs name them.

A reference is imported only from an allowed module: ECL's own packages (``ecl_core``,
``ecl_dagster``), the packages that declare themselves step packages when installed (an
entry point in the group ``ecl.steps`` of their ``pyproject.toml``, whose value is the
package: ``[project.entry-points."ecl.steps"] translate = "ecl_translate"``), and the prefixes
listed in ``ECL_ALLOWED_MODULES`` (comma-separated). A prefix allows the module itself and its
submodules, so ``acme`` allows ``acme`` and ``acme.steps`` but not ``acme_evil``. The check
comes before the import, so a workflow file cannot make ECL import, and so run, any other
module: installing a package is the one act that allows it, in every process at once.

An allowed module that fails to import is reported with its real cause: not installed, a
syntax error at file and line, or the exception its code raised.
"""

import importlib
import os
import sys
import traceback
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TypeVar

from ecl_core.errors import ConfigError

__all__ = [
    "ALLOWED_MODULES_ENV_VAR",
    "STEP_PACKAGES_GROUP",
    "allowed_module_prefixes",
    "import_class",
    "reference_of",
]

T = TypeVar("T")
ALLOWED_MODULES_ENV_VAR = "ECL_ALLOWED_MODULES"
STEP_PACKAGES_GROUP = "ecl.steps"
"""The entry-point group an installed package declares its step modules in."""
_BUILT_IN = ("ecl_core", "ecl_dagster")


@lru_cache(maxsize=1)
def _installed_step_packages() -> tuple[str, ...]:
    """The modules installed packages declare in the ``ecl.steps`` entry-point group.

    Read once per process (about 9 ms); ``_allowed`` reads again when a module is not
    allowed by what was read, so a package installed while a process runs (an API server,
    a code server before its reload) is seen at its first use.
    """
    return tuple(sorted({ep.module for ep in entry_points(group=STEP_PACKAGES_GROUP)}))


def allowed_module_prefixes() -> tuple[str, ...]:
    """ECL's packages, installed step packages, then the prefixes in ``$ECL_ALLOWED_MODULES``."""
    extra = os.environ.get(ALLOWED_MODULES_ENV_VAR, "")
    return (_BUILT_IN + _installed_step_packages()
            + tuple(p.strip() for p in extra.split(",") if p.strip()))


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _allowed(module: str) -> bool:
    """Whether ``module`` is allowed; entry points are read again only on a refusal."""
    if _under(module, allowed_module_prefixes()):
        return True
    _installed_step_packages.cache_clear()  # installed since the last read?
    return _under(module, allowed_module_prefixes())


def import_class(reference: str, base: type[T], what: str) -> type[T]:
    """The class ``reference`` (``module:Class``) names; it must be a subclass of ``base``.

    Args:
        reference: ``module:Class``.
        base: The class it must derive from.
        what: What the reference is, for the message (``"input model"``, ``"step type"``).

    Raises:
        ConfigError: The reference is not ``module:Class``; the module is not allowed
            (checked before any import; the message says how to allow it); importing it
            failed (the message gives the real cause and the fix); it has no such class; or
            the class is not a subclass of ``base``.
    """
    module, colon, name = reference.partition(":")
    if not (colon and module and name.isidentifier()):
        raise ConfigError(f"{what} '{reference}' is not a reference: write it as "
                          "'module:Class' (e.g. 'acme_steps.translate:TranslateStep')")
    if not _allowed(module):
        raise ConfigError(
            f"{what} '{reference}' is in module '{module}', which is not allowed: classes are "
            f"imported only from {', '.join(allowed_module_prefixes())}. Declare the package "
            f"that holds it in its pyproject.toml ([project.entry-points.\"{STEP_PACKAGES_GROUP}\"]"
            f" name = \"{module.split('.')[0]}\") and install it (pip install -e <its folder>)"
        )
    loaded = _import(module, what, reference)
    found = getattr(loaded, name, None)
    if found is None:
        classes = sorted(k for k, v in vars(loaded).items()
                         if isinstance(v, type) and issubclass(v, base) and v is not base)
        raise ConfigError(f"{what} '{reference}': module '{module}' has no '{name}' "
                          f"(its {base.__name__} classes: {', '.join(classes) or 'none'})")
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ConfigError(f"{what} '{reference}' is not a {base.__name__} subclass")
    return found


def _import(module: str, what: str, reference: str) -> object:
    """``importlib.import_module(module)``, its failure said as cause and fix.

    Raises:
        ConfigError: Not installed in this Python, a syntax error (file:line), or what its
            code raised (the file and line of the last frame).
    """
    if module not in sys.modules:
        importlib.invalidate_caches()  # a package installed since this process started
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = err.name or module
        if "." in missing and (module == missing or module.startswith(missing + ".")):
            package, _, _ = missing.rpartition(".")
            raise ConfigError(
                f"{what} '{reference}': package '{package}' has no module "
                f"'{missing.rpartition('.')[2]}': check the spelling of '{module}'"
            ) from None
        if module == missing or module.startswith(missing + "."):
            raise ConfigError(
                f"{what} '{reference}': module '{module}' is not installed in this Python "
                f"({sys.executable}): install the package that holds it "
                "(pip install -e <its folder>) in every environment that runs ECL"
            ) from None
        raise ConfigError(
            f"{what} '{reference}': importing '{module}' failed: it imports '{missing}', which "
            "is not installed: add it to the dependencies of the package that holds it"
        ) from None
    except SyntaxError as err:
        raise ConfigError(
            f"{what} '{reference}': module '{module}' has a syntax error at "
            f"{err.filename}:{err.lineno}: {err.msg}"
        ) from None
    except Exception as err:  # the module's own code failed: say where
        frame = traceback.extract_tb(err.__traceback__)[-1]
        raise ConfigError(
            f"{what} '{reference}': importing '{module}' raised {type(err).__name__}: {err} "
            f"(at {frame.filename}:{frame.lineno})"
        ) from None


def reference_of(cls: type) -> str:
    """``module:Class`` for ``cls``; ``import_class`` reads it back."""
    return f"{cls.__module__}:{cls.__qualname__}"
