"""Whoosh loaded without the modules it imports and never uses.

Three of Whoosh's modules import, as they load, something no code of Whoosh's (or
searchkit's) ever calls, and together those imports are about 60 ms of CPU in every
process that reads or writes an index: a sixth of a ``searchkit search`` process on
``data/`` (BENCHMARKS.md, Start-up):

* ``whoosh.compat`` imports ``urlretrieve`` from ``urllib.request`` (which loads
  ``http.client``, ``email``, ``ssl`` and ``socket``): no Whoosh module calls it.
* ``whoosh.reading`` imports the ``cached_property`` package for one property
  (``SegmentReader.deleted_docs_set``); the package imports ``asyncio`` at load time
  to support coroutine methods. The standard library's ``functools.cached_property``
  does the same for a plain method: computed once, kept in the instance.
* ``whoosh.query.terms`` imports ``variations`` from ``whoosh.lang.morph_en`` (a table
  of English word endings compiled into patterns as it loads), used only by the
  ``Variations`` query, which searchkit never builds.

:func:`install` (run by ``import searchkit``) puts a finder first on
``sys.meta_path`` that loads just those three modules with stand-ins in
``sys.modules`` for the time of their own load: for ``urlretrieve`` and
``variations`` a function that imports the real module when it is called, for
``cached_property`` the standard library's. Each stand-in is removed again as soon as
the Whoosh module is loaded, so that any other ``import urllib.request`` (or of the
package ``cached_property``) in the process gets the real module; a module already
imported is never stood in for; and once the three are loaded (or when Whoosh was
imported before searchkit) the finder is gone from ``sys.meta_path``. (Another
thread that imports ``urllib.request`` or ``cached_property`` for the first time during
the milliseconds ``whoosh.compat`` or ``whoosh.reading`` takes to load would get the
stand-in; searchkit itself imports neither anywhere.) The Whoosh
globals so bound are listed in :mod:`searchkit.engine.whoosh_internals`, and
``tests/test_whoosh_imports.py`` checks on the pinned Whoosh that nothing else of it
uses these names.

This module sits at the bottom of the package, not in :mod:`searchkit.engine`, because
it must be in place before any layer imports Whoosh: the analysis layer does, before
the engine.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec


def deferred(module: str, name: str) -> Callable[..., Any]:
    """A stand-in for the function ``module.name``: imports ``module`` when called
    and calls the real function."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__doc__ = f"``{module}.{name}``, its module imported when first called."
    return call


def _standin(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attributes)
    return module


def _standins_of(module: str) -> dict[str, types.ModuleType]:
    """The stand-ins ``module`` is loaded with: imported name -> stand-in module."""
    if module == "whoosh.compat":
        urlretrieve = deferred("urllib.request", "urlretrieve")
        return {"urllib.request": _standin("urllib.request", urlretrieve=urlretrieve)}
    if module == "whoosh.reading":
        cached = functools.cached_property
        return {"cached_property": _standin("cached_property", cached_property=cached)}
    if module == "whoosh.query.terms":
        variations = deferred("whoosh.lang.morph_en", "variations")
        return {"whoosh.lang.morph_en": _standin("whoosh.lang.morph_en", variations=variations)}
    return {}


#: The Whoosh modules loaded with stand-ins, and the modules they stand in for.
LOADED_WITH_STANDINS: dict[str, tuple[str, ...]] = {
    module: tuple(_standins_of(module))
    for module in ("whoosh.compat", "whoosh.reading", "whoosh.query.terms")
}


class _StandInLoader:
    """Runs a module's real loader with ``standins`` in ``sys.modules``. (A loader and
    the finder below by their methods, as the import system takes them: subclassing
    ``importlib.abc``'s classes would import ``importlib.resources``, 3 ms.)"""

    def __init__(
        self, loader: Any, standins: dict[str, types.ModuleType], then: Callable[[], None]
    ) -> None:
        self._loader = loader
        self._standins = standins
        self._then = then

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        created: types.ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: types.ModuleType) -> None:
        sys.modules.update(self._standins)
        try:
            self._loader.exec_module(module)
        finally:
            for name, standin in self._standins.items():
                if sys.modules.get(name) is standin:
                    del sys.modules[name]
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader
            self._then()


class _StandInFinder:
    """Finds the modules of :data:`LOADED_WITH_STANDINS` as the other finders do, with
    a loader that lends them their stand-ins."""

    def __init__(self, pending: set[str]) -> None:
        self._pending = pending

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in self._pending:
            return None
        self._pending.discard(fullname)
        spec = None
        for finder in [f for f in sys.meta_path if f is not self]:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        standins = {n: m for n, m in _standins_of(fullname).items() if n not in sys.modules}
        if standins:
            spec.loader = _StandInLoader(spec.loader, standins, self._leave_when_done)
        return spec

    def _leave_when_done(self) -> None:
        """Off ``sys.meta_path`` once every module is loaded (called by the loader: the
        import system is not going through ``sys.meta_path`` then)."""
        if not self._pending and self in sys.meta_path:
            sys.meta_path.remove(self)


def install() -> None:
    """Load the modules of :data:`LOADED_WITH_STANDINS` with their stand-ins when they
    are first imported (nothing when they are imported already)."""
    if any(isinstance(finder, _StandInFinder) for finder in sys.meta_path):
        return
    pending = {name for name in LOADED_WITH_STANDINS if name not in sys.modules}
    if pending:
        sys.meta_path.insert(0, _StandInFinder(pending))


__all__ = ["LOADED_WITH_STANDINS", "deferred", "install"]
