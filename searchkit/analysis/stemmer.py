"""NLTK's Snowball English stemmer, loaded without the rest of NLTK.

``from nltk.stem.snowball import EnglishStemmer`` runs NLTK's package ``__init__``,
which imports all of NLTK (and SciPy, when installed): 2-5 s of start-up for every
searchkit command, longer than ingesting thousands of records. The stemmer is one
module, ``nltk/stem/snowball.py``, whose imports at load time are three small sibling
modules and ``nltk.corpus`` (for stop words the English stemmer does not use). It is
loaded from NLTK's installed files with empty stand-ins for the ``nltk``,
``nltk.stem`` and ``nltk.corpus`` packages, and deferred ones for ``nltk.redos`` and
``nltk.termsec``: the Arabic stemmer compiles its patterns with ``redos`` (which
imports the ``regex`` package, 7 ms of every search) and only the demos print with
``termsec``; the deferred stand-ins import the real modules when something of theirs is
used. The stand-ins are removed again at once, so an ``import nltk`` elsewhere imports
the real NLTK. It is NLTK's own code, so the stems are NLTK's; if the layout ever
differs, the normal import is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

from searchkit.whoosh_imports import deferred

_STANDINS = ("nltk", "nltk.stem", "nltk.corpus", "nltk.redos", "nltk.termsec")


class _DeferredPattern:
    """A pattern of a deferred ``redos.compile``, compiled by the real module when one
    of its methods is first used."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._call = (args, kwargs)
        self._pattern: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # what class creation asks of its attributes
            raise AttributeError(name)
        if self._pattern is None:
            args, kwargs = self._call
            self._pattern = importlib.import_module("nltk.redos").compile(*args, **kwargs)
        return getattr(self._pattern, name)


class _Deferred(types.ModuleType):
    """A stand-in for an NLTK module: each function imports the real module when it is
    called (``compile`` of ``nltk.redos`` returns a :class:`_DeferredPattern`)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        real = self.__name__
        if real == "nltk.redos" and name == "compile":
            return lambda *args, **kwargs: _DeferredPattern(args, kwargs)
        return deferred(real, name)


def _load_isolated() -> Any:
    spec = importlib.util.find_spec("nltk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nltk is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    package = types.ModuleType("nltk")
    package.__path__ = [str(root)]
    stem = types.ModuleType("nltk.stem")
    stem.__path__ = [str(root / "stem")]
    corpus = types.ModuleType("nltk.corpus")
    corpus.stopwords = None  # type: ignore[attr-defined]  # only for ignore_stopwords=True
    redos, termsec = _Deferred("nltk.redos"), _Deferred("nltk.termsec")
    package.stem = stem  # type: ignore[attr-defined]
    package.corpus = corpus  # type: ignore[attr-defined]
    package.redos = redos  # type: ignore[attr-defined]
    package.termsec = termsec  # type: ignore[attr-defined]
    sys.modules.update(
        {
            "nltk": package,
            "nltk.stem": stem,
            "nltk.corpus": corpus,
            "nltk.redos": redos,
            "nltk.termsec": termsec,
        }
    )
    try:
        return importlib.import_module("nltk.stem.snowball").EnglishStemmer
    finally:
        for name in [n for n in sys.modules if n == "nltk" or n.startswith("nltk.")]:
            del sys.modules[name]


def english_stemmer_class() -> Any:
    """NLTK's ``EnglishStemmer`` class, without importing all of NLTK when it is not
    imported yet."""
    if "nltk" not in sys.modules:
        try:
            return _load_isolated()
        except Exception:  # an NLTK whose modules import differently: the normal way
            for name in _STANDINS:
                sys.modules.pop(name, None)
    from nltk.stem.snowball import EnglishStemmer

    return EnglishStemmer


__all__ = ["english_stemmer_class"]
