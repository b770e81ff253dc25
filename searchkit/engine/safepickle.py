"""Reading the pickles of an index without letting them run code.

Whoosh stores the table of contents (schema, analyzers, segment list), stored fields,
posting blocks, posting values (positions), column headers and compound-file
directories with :mod:`pickle`. A plain unpickler imports and calls whatever a pickle
names, so a crafted file in an index directory would run code in whoever opens it.
Every pickle read from an index goes through :func:`loads` or :func:`load` here
instead: a pickle that names any global (a class or function) is read by
:class:`RestrictedUnpickler`, whose ``find_class`` admits only

* :data:`ALLOWED_GLOBALS`: the functions and builtin types that searchkit's and
  Whoosh's pickles name (``copyreg._reconstructor``, ``array._array_reconstructor``,
  ``re._compile``, ``_codecs.encode``, ``set``, ...), none of which runs code of the
  pickle's choosing;
* classes defined in ``whoosh.*`` or ``searchkit.*`` modules that derive from one of
  :func:`_safe_bases` (fields and the schema, analyzers and their parts, posting
  formats, columns, codecs and segments): configuration objects whose constructors and
  ``__setstate__`` only store what they are given.

Anything else is refused with :class:`UnsafePickleError`. A pickle holding no opcode
that names a global (most posting values and blocks of plain numbers) cannot reach a
callable at all, and is read by :func:`pickle.loads` directly (measurably faster for
the many tiny position lists).

:func:`install` routes Whoosh's own reads here by replacing these module-level names
(called once, from :mod:`searchkit`'s ``__init__``):

* ``whoosh.filedb.structfile.load_pickle`` (``StructFile.read_pickle``: segment
  lists, block heads, column headers, compound directories, hash-table extras),
* ``whoosh.index.pickle`` (``TOC.read``'s ``pickle.loads`` of the schema; a copy of
  :mod:`pickle` whose ``loads`` is :func:`loads`),
* ``whoosh.index.toc_loaders`` (emptied: Whoosh's legacy TOC formats are read with an
  unpickler that imports anything, and searchkit never wrote them),
* ``loads`` in ``whoosh.codec.whoosh3`` (posting blocks, inlined postings),
  ``whoosh.formats`` (posting values), ``whoosh.columns`` (stored fields) and
  ``whoosh.codec.plaintext`` (a debugging codec).

(``whoosh.codec.whoosh2`` and ``whoosh.filedb.misc`` also unpickle, but cannot be
imported with this Whoosh: a TOC naming their classes is refused.)
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import pickle
import re
import types
from typing import IO, Any

from searchkit.errors import IndexFormatError

#: Globals (module, name) that the pickles searchkit and Whoosh write name, besides
#: the classes admitted by :func:`_safe_bases`.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("copyreg", "_reconstructor"),
        ("array", "_array_reconstructor"),
        ("array", "array"),
        ("re", "_compile"),
        ("_codecs", "encode"),
        ("collections", "defaultdict"),
        ("collections", "OrderedDict"),
        *(
            ("builtins", name)
            for name in (
                "object",
                "set",
                "frozenset",
                "dict",
                "list",
                "tuple",
                "int",
                "float",
                "str",
                "bytes",
                "bytearray",
                "bool",
                "complex",
            )
        ),
    }
)
#: Packages whose classes may be admitted (if they derive from a safe base).
TRUSTED_PACKAGES = ("whoosh", "searchkit")

# Opcodes that make the unpickler look up a global: GLOBAL, INST, EXT1/2/4 and
# STACK_GLOBAL. A pickle in which none of these bytes occurs names no global, and
# without one it can build only numbers, strings, bytes and containers.
_NAMES_A_GLOBAL = re.compile(rb"[ci\x82\x83\x84\x93]")


class UnsafePickleError(IndexFormatError, pickle.UnpicklingError):
    """A pickle in an index names a global that searchkit never writes there: the
    index was damaged or tampered with."""

    def __init__(self, module: str, name: str) -> None:
        #: What was refused, without the advice.
        self.problem = (
            f"an index file names {module}.{name}, which searchkit never writes there; "
            "it was not loaded"
        )
        super().__init__(
            f"{self.problem}: the index is damaged or was tampered with; rebuild it from "
            "its recorded sources with 'searchkit rebuild'"
        )


_BASES: tuple[type, ...] | None = None


def _safe_bases() -> tuple[type, ...]:
    """The base classes of what the index's pickles may instantiate."""
    global _BASES
    if _BASES is None:
        from whoosh.analysis import Composable
        from whoosh.codec.base import Codec, Segment
        from whoosh.columns import Column
        from whoosh.fields import FieldType, Schema
        from whoosh.formats import Format

        from searchkit.engine.codec import CompressedValues, DeltaIds, PackedValues

        _BASES = (
            *(Schema, FieldType, Composable, Format, Column, Codec, Segment),
            *(PackedValues, CompressedValues, DeltaIds),
        )
    return _BASES


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of the module docstring."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ADMITTED.get((module, name))
        if found is None:
            found = _ADMITTED[(module, name)] = _admit(module, name)
        return found


# Globals already admitted, by the (module, name) a pickle gave: every posting block
# names a few, and resolving them is most of what reading a small block costs.
_ADMITTED: dict[tuple[str, str], Any] = {}


def _admit(module: str, name: str) -> Any:
    """The global ``module.name`` if admitted, else :class:`UnsafePickleError`."""
    # Python 2 names (protocol 2 pickles: ``__builtin__.long``) as pickle maps them.
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    if (module, name) in ALLOWED_GLOBALS:
        return getattr(importlib.import_module(module), name)
    if module.partition(".")[0] in TRUSTED_PACKAGES and name.isidentifier():
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            found = None
        if isinstance(found, type) and issubclass(found, _safe_bases()):
            return found
    raise UnsafePickleError(module, name)


def loads(data: bytes | bytearray | memoryview) -> Any:
    """:func:`pickle.loads` admitting only the globals of the module docstring."""
    if _NAMES_A_GLOBAL.search(data) is None:
        return pickle.loads(data)
    return RestrictedUnpickler(io.BytesIO(data)).load()


def load(file: IO[bytes]) -> Any:
    """:func:`pickle.load` admitting only the globals of the module docstring."""
    return RestrictedUnpickler(file).load()


_INSTALLED = False


def install() -> None:
    """Route every unpickling of index data by Whoosh through this module (the names
    listed in the module docstring). Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    import whoosh.codec.plaintext
    import whoosh.codec.whoosh3
    import whoosh.columns
    import whoosh.filedb.structfile
    import whoosh.formats
    import whoosh.index

    whoosh.filedb.structfile.load_pickle = load  # type: ignore[attr-defined]
    shim = types.ModuleType("pickle", "pickle, with loads admitting only safe globals")
    shim.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith("__")})
    shim.loads = loads  # type: ignore[attr-defined]
    whoosh.index.pickle = shim  # type: ignore[attr-defined]
    whoosh.index.toc_loaders = {}  # type: ignore[attr-defined]
    for module in (
        whoosh.codec.whoosh3,
        whoosh.formats,
        whoosh.columns,
        whoosh.codec.plaintext,
    ):
        module.loads = loads  # type: ignore[attr-defined]
    _INSTALLED = True
