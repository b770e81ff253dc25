"""The Whoosh internals the engine relies on (searchkit.engine.whoosh_internals): the
pinned Whoosh is the one they were checked against, each still exists (on live objects
of a small real index where it is an instance attribute), and the table is complete:
the engine's source names no Whoosh internal the table leaves out, and nothing outside
the engine reaches into Whoosh's private names."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata
import inspect
import io
import json
import subprocess
import sys
import textwrap
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import whoosh
import whoosh.index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, STORED_COLUMN, W3Codec, W3TermInfo
from whoosh.columns import VarBytesColumn
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Positions
from whoosh.multiproc import SubWriterTask
from whoosh.scoring import BM25F

import searchkit
from searchkit import SearchIndex, ingest
from searchkit.engine import lexicon, term_writer
from searchkit.engine.position_values import decode_positions
from searchkit.engine.segment_writer import FastMpWriter, FastSegmentWriter
from searchkit.engine.whoosh_internals import (
    INTERNAL_MODULES,
    PRIVATE_NAMES,
    PUBLIC_NAMES,
    WHOOSH_IMPORTS,
    WHOOSH_VERSION,
    Kind,
    PrivateName,
)
from searchkit.index.schema import build_schema

from .conftest import ROOT, SAMPLE_DIR

ENGINE = Path(searchkit.__file__).parent / "engine"
# The engine's modules that use Whoosh (the table itself and the package docstring do not).
ENGINE_MODULES = sorted(
    p.stem for p in ENGINE.glob("*.py") if p.stem not in {"__init__", "whoosh_internals"}
)
# Whoosh private names used outside the engine, each to be moved into it (issue 19):
# (module, attribute). Nothing may be added here.
OUTSIDE_ENGINE = {("searchkit.searching.search", "_total")}
# A few records of a real PubMed export: the smallest real index with every part.
SMALL_EXPORT = SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result2.txt"

_ATTRIBUTE_KINDS = {Kind.READ, Kind.WRITTEN}
#: Strings of the engine that are names Whoosh gives its files or columns and happen to
#: be private attribute names elsewhere in Whoosh (the scan takes them for attributes):
#: (engine module, string) -> the MIRRORED entry that lists the naming.
NAMES_NOT_ATTRIBUTES = {
    # the stored fields' column (whoosh2's per-document reader has a _stored attribute)
    ("perdoc_copy", "_stored"): "W3PerDocReader.stored_fields",
    ("codec", "_stored"): "W3PerDocReader.stored_fields",
}


def _id(entry: PrivateName) -> str:
    return f"{entry.module}.{entry.name}:{entry.kind.name}"


def _resolve(module: str, dotted: str) -> Any:
    """``module``'s object at ``dotted`` (``Class.Inner.attr``)."""
    found: Any = importlib.import_module(module)
    for part in dotted.split("."):
        found = getattr(found, part)
    return found


def _owner(entry: PrivateName) -> type:
    assert entry.owner is not None, f"{_id(entry)} names no class"
    cls = _resolve(entry.module, entry.owner)
    assert inspect.isclass(cls), f"{entry.module}.{entry.owner} is not a class"
    return cls


def _whoosh_mro(cls: type) -> list[type]:
    return [k for k in cls.__mro__ if k.__module__.split(".")[0] == "whoosh"]


def _on_self(node: ast.Attribute) -> bool:
    """Whether ``node`` is ``self.<attr>`` (or ``cls.<attr>``)."""
    return isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and len(name) > 1


# -- the version ------------------------------------------------------------------------


def test_the_installed_whoosh_is_the_version_the_table_was_checked_against() -> None:
    installed = importlib.metadata.version("whoosh-reloaded")
    assert installed == WHOOSH_VERSION, (
        f"whoosh-reloaded {installed} is installed, but the engine's Whoosh internals were "
        f"checked against {WHOOSH_VERSION}: re-check every entry of "
        "searchkit.engine.whoosh_internals.PRIVATE_NAMES against the new Whoosh, then "
        "change WHOOSH_VERSION and the pin in pyproject.toml together"
    )


def test_the_project_pins_that_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in project["project"]["dependencies"] if d.startswith("whoosh-reloaded")]
    assert pins == [f"whoosh-reloaded=={WHOOSH_VERSION}"]


# -- every entry exists -----------------------------------------------------------------


def _live_objects(tmp: Path) -> Iterator[dict[str, Any]]:
    """One live object of each class whose instance attributes the table names, from
    a real index of a few records (reading side) and a writer on a new index (writing
    side), by the class name the table uses."""
    index = SearchIndex.create(tmp / "index")
    report = ingest([SMALL_EXPORT], index)
    assert report.ok, report.skipped
    ix = index.whoosh_index
    searcher = ix.searcher()
    reader = next(r for r, _ in searcher.reader().leaf_readers())
    perdoc = reader._perdoc
    column = perdoc._cached_reader("_title_len", LENGTHS_COLUMN)
    field, text = next((f, t) for f, t in reader.all_terms() if f == "abstract")
    matcher = reader.postings(field, text)
    matcher._read_data()
    segment = reader.segment()
    compound = segment.open_compound_file(ix.storage)

    fresh = tmp / "fresh"
    fresh.mkdir()
    new = whoosh.index.create_in(str(fresh), build_schema())
    writer = FastSegmentWriter(new)
    fieldwriter = writer.fieldwriter
    fieldwriter.start_field("title", new.schema["title"])
    fieldwriter.start_term(b"term")
    stored_writer = writer.perdocwriter._get_column("_stored")
    numeric_file = StructFile(io.BytesIO())
    live = {
        "VarBytesColumn.Reader": perdoc.column_reader("pmid", VarBytesColumn()),
        "VarBytesColumn.Writer": stored_writer._child,
        "CompressedBytesColumn.Writer": stored_writer._child,
        "NumericColumn.Reader": column,
        "NumericColumn.Writer": LENGTHS_COLUMN.writer(numeric_file),
        "WrappedColumnReader": perdoc.column_reader("_stored", STORED_COLUMN),
        "WrappedColumnWriter": stored_writer,
        "W3Codec": W3Codec(),
        "W3PostingsWriter": fieldwriter._postwriter,
        "W3TermInfo": W3TermInfo(),
        "W3FieldWriter": fieldwriter,
        "OrderedHashWriter": fieldwriter._tindex,
        "W3LeafMatcher": matcher,
        "W3PerDocReader": perdoc,
        "W3TermsReader": reader._terms,
        "OrderedHashReader": reader._terms._tindex,
        "W3PerDocWriter": writer.perdocwriter,
        "SegmentReader": reader,
        "FixedBytesColumn.Reader": column,
        "StructFile": column._dbfile,
        "CompoundStorage": compound,
        "BM25F": BM25F(),
        "SegmentWriter": writer,
        "SortingPool": writer.pool,
        "FileLock": writer.writelock,
        "FileIndex": ix,
        "SubWriterTask": SubWriterTask(new.storage, new.indexname, None, None, {}, True),
    }
    try:
        yield live
    finally:
        compound.close()
        searcher.close()
        writer.cancel()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _live_objects(tmp_path_factory.mktemp("whoosh-internals"))


@pytest.fixture(scope="module")
def live_mp_writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Whoosh's multi-process writer as the engine builds it (no process started)."""
    path = tmp_path_factory.mktemp("mp") / "index"
    path.mkdir()
    writer = FastMpWriter(whoosh.index.create_in(str(path), build_schema()), procs=2)
    try:
        yield writer
    finally:
        writer.cancel()


@pytest.mark.parametrize("entry", PRIVATE_NAMES, ids=_id)
def test_each_entry_exists_in_the_installed_whoosh(
    entry: PrivateName, live: dict[str, Any], live_mp_writer: Any
) -> None:
    module = importlib.import_module(entry.module)
    assert module.__name__.split(".")[0] == "whoosh"
    if entry.kind in _ATTRIBUTE_KINDS:
        cls = _owner(entry)
        obj = live_mp_writer if entry.owner == "MpWriter" else live.get(entry.owner or "")
        assert obj is not None, f"no live {entry.owner} to check {_id(entry)} on: add one"
        assert isinstance(obj, cls), f"the live {entry.owner} is a {type(obj)}"
        assert hasattr(obj, entry.attribute), f"a live {entry.owner} has no {entry.attribute}"
        return
    if entry.kind in {Kind.OVERRIDDEN, Kind.CALLED}:
        cls = _owner(entry)
        method = getattr(cls, entry.attribute)
        assert callable(method)
        assert any(entry.attribute in vars(k) for k in _whoosh_mro(cls)), (
            f"{entry.attribute} is not Whoosh's own method of {cls}"
        )
        return
    found = _resolve(entry.module, entry.name)  # IMPORTED, PATCHED, MIRRORED
    if entry.kind is Kind.IMPORTED and (inspect.isclass(found) or inspect.isfunction(found)):
        assert found.__module__ == entry.module, f"{entry.name} lives in {found.__module__}"


def test_the_layouts_the_engine_reproduces_are_whooshs(live: dict[str, Any]) -> None:
    """The MIRRORED entries whose layout can be compared with Whoosh's own code."""
    from whoosh.codec.whoosh3 import _lenfield
    from whoosh.filedb.filetables import _lengths, md5_hash
    from whoosh.util.numeric import length_to_byte

    from searchkit.engine.checksums import PART_SUFFIX

    assert _lenfield("title") == "_title_len"  # postings._lengths_column reads it by name
    column = f".{_lenfield('title')}.col"  # the part of the compound segment file
    assert column.endswith(PART_SUFFIX)  # what checksums.verify_part checks
    assert any(name.endswith(column) for name in live["CompoundStorage"]._dir)
    assert term_writer._TERM_LENGTHS.format == _lengths.format
    # A term's statistics as W3TermInfo.to_bytes packs them (not inlined), then the
    # extent as pack_long and pack_int; the terms' hash as md5_hash computes it.
    assert term_writer._TERM_INFO.format == W3TermInfo._struct.format + "qi"
    info = W3TermInfo(2.5, 3, 7, 120, 2.0, 4, 90)
    info.set_extent(123_456, 789)
    assert info.to_bytes() == term_writer._TERM_INFO.pack(
        0, 2.5, 3, length_to_byte(7), length_to_byte(120), 2.0, 4, 90, 123_456, 789
    )
    for key in (b"", b"\x00\x01cancer", "\u03b2-catenin".encode()):
        assert term_writer._md5_low32(key) == md5_hash(key)
    assert [length_to_byte(n) for n in range(4_096)] == term_writer._LENGTH_CODES
    # The lexicon reads a term info's weight at its offset, a key's field at its start.
    assert lexicon._ENTRY.format == _lengths.format
    packed = info.to_bytes()
    assert lexicon._WEIGHT.unpack_from(packed, lexicon._WEIGHT_AT)[0] == 2.5
    terms = live["W3TermsReader"]
    assert terms._keycoder("title", b"x")[lexicon._FIELD_NUMBER_SIZE :] == b"x"
    fmt = Positions()  # values decoded by postings without Whoosh's decode_positions
    blob = b"".join(fmt.encode(p) for p in ([4], [0, 9, 100_000]))
    ends = [len(fmt.encode([4])), len(blob)]
    assert decode_positions(fmt, blob, [0, ends[0]], ends) == [[4], [0, 9, 100_000]]


def test_each_entry_is_listed_once_with_a_reason() -> None:
    keys = [(e.module, e.name, e.kind) for e in PRIVATE_NAMES]
    assert len(keys) == len(set(keys))
    for entry in PRIVATE_NAMES:
        assert entry.why.strip() and entry.used_by, _id(entry)
        assert set(entry.used_by) <= {*ENGINE_MODULES, WHOOSH_IMPORTS}, _id(entry)


@pytest.mark.parametrize(
    "entry", [e for e in PRIVATE_NAMES if e.kind is not Kind.MIRRORED], ids=_id
)
def test_each_entry_is_still_used(entry: PrivateName) -> None:
    """No stale entries: each module said to rely on a name still writes it."""
    for module in entry.used_by:
        path = ENGINE / f"{module}.py"
        if module == WHOOSH_IMPORTS:
            path = Path(searchkit.__file__).parent / "whoosh_imports.py"
        source = path.read_text(encoding="utf-8")
        assert entry.attribute in source, f"{module} no longer uses {entry.name}"


def test_nothing_from_an_internal_module_counts_as_public() -> None:
    assert not {n for n in PUBLIC_NAMES if n.rpartition(".")[0] in INTERNAL_MODULES}
    for entry in PRIVATE_NAMES:
        if entry.kind is Kind.IMPORTED:
            assert f"{entry.module}.{entry.name}" not in PUBLIC_NAMES, _id(entry)


def test_each_public_name_is_still_imported() -> None:
    imported = {name for module in ENGINE_MODULES for name, _ in _whoosh_imports(module)}
    assert imported >= PUBLIC_NAMES, sorted(PUBLIC_NAMES - imported)


# -- the table is complete --------------------------------------------------------------


@functools.cache
def _whoosh_private_names() -> frozenset[str]:
    """Every private name Whoosh defines: its functions, methods and classes, the
    attributes it sets on ``self``, and its modules' globals."""
    names: set[str] = set()
    for path in Path(whoosh.__file__).parent.rglob("*.py"):
        with warnings.catch_warnings():  # Whoosh has invalid escapes in plain strings
            warnings.simplefilter("ignore")
            tree = ast.parse(path.read_text(encoding="utf-8"))
        for statement in tree.body:  # module globals
            for target in getattr(statement, "targets", []):
                if isinstance(target, ast.Name) and _private(target.id):
                    names.add(target.id)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and _private(node.attr) and _on_self(node):
                names.add(node.attr)
    return frozenset(names)


def _class_names(cls: type) -> set[str]:
    """The names a Whoosh class and its Whoosh bases define: methods, class attributes
    and the attributes their code sets or reads on ``self``."""
    names: set[str] = set()
    for k in _whoosh_mro(cls):
        names |= set(vars(k))
        tree = ast.parse(textwrap.dedent(inspect.getsource(k)))
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _on_self(n)}
    return names


def _whoosh_imports(module: str) -> Iterator[tuple[str, str]]:
    """(dotted Whoosh name, local name) of every Whoosh import of an engine module."""
    tree = ast.parse((ENGINE / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "whoosh":
            for alias in node.names:
                yield f"{node.module}.{alias.name}", alias.asname or alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "whoosh":
                    yield alias.name, alias.asname or alias.name


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _uses(module: str) -> Iterator[tuple[str, set[Kind], str, set[str] | None]]:
    """Every Whoosh internal ``module`` relies on, as the source shows it: (attribute
    or name, the kinds an entry for it may have, where, and the classes it may belong
    to when the source shows them: ``self`` in a subclass of a Whoosh class)."""
    path = ENGINE / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    whoosh_private = _whoosh_private_names()
    local = {name: dotted for dotted, name in _whoosh_imports(module)}
    where = functools.partial("{}.py:{}".format, module)
    any_kind = set(Kind)

    for dotted, name in _whoosh_imports(module):
        if dotted in PUBLIC_NAMES:
            continue
        if name == dotted:  # ``import whoosh.index``: to rebind its globals
            yield dotted, {Kind.PATCHED}, f"import {dotted}", None
        else:
            yield dotted.rpartition(".")[2], {Kind.IMPORTED}, f"from-import {dotted}", None

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [_dotted(b) for b in node.bases]
            whoosh_bases = [
                _resolve(*local[b].rsplit(".", 1)) for b in bases if b is not None and b in local
            ]
            if not whoosh_bases:
                continue
            inherited = set().union(*(_class_names(b) for b in whoosh_bases))
            owners = {k.__name__ for b in whoosh_bases for k in _whoosh_mro(b)}
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef) and _private(item.name):
                    if item.name in inherited:
                        yield item.name, {Kind.OVERRIDDEN}, where(item.lineno), owners
                elif (
                    isinstance(item, ast.Attribute)
                    and _on_self(item)
                    and _private(item.attr)
                    and item.attr in inherited
                ):
                    kinds = _ATTRIBUTE_KINDS | {Kind.CALLED}
                    yield item.attr, kinds, where(item.lineno), owners
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            value = node.value
            if _on_self(node):
                continue
            if isinstance(value, ast.Call) and _dotted(value.func) == "super":
                yield node.attr, {Kind.OVERRIDDEN, Kind.CALLED}, where(node.lineno), None
            elif node.attr in whoosh_private:
                yield node.attr, any_kind - {Kind.IMPORTED}, where(node.lineno), None
        elif (  # getattr(x, "_y")
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _private(node.value)
            and node.value in whoosh_private
        ):
            yield node.value, _ATTRIBUTE_KINDS | {Kind.CALLED}, where(node.lineno), None
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Attribute):
                    continue
                base = _dotted(target.value)
                root = None if base is None else base.split(".")[0]
                if root == "whoosh" or root in local:  # whoosh.module.name = ..., TOC.read = ...
                    yield target.attr, {Kind.PATCHED}, where(node.lineno), None


@pytest.mark.parametrize("module", ENGINE_MODULES)
@pytest.mark.slow
def test_every_whoosh_internal_the_engine_uses_is_in_the_table(module: str) -> None:
    missing = sorted(
        f"{where}: {name} ({' or '.join(sorted(k.name for k in kinds))})"
        for name, kinds, where, owners in _uses(module)
        if not any(
            module in e.used_by
            and e.kind in kinds
            and name in (e.attribute, e.module)
            and (owners is None or (e.owner or "").rpartition(".")[2] in owners)
            for e in PRIVATE_NAMES
        )
        and not any(  # ``import whoosh.index`` to rebind its globals
            module in e.used_by and e.kind in kinds and e.module == name for e in PRIVATE_NAMES
        )
        and not any(  # a name of Whoosh's files or columns, not an attribute
            module in e.used_by and e.kind is Kind.MIRRORED and e.name == mirrored
            for e in PRIVATE_NAMES
            if (mirrored := NAMES_NOT_ATTRIBUTES.get((module, name))) is not None
        )
    )
    assert not missing, (
        "Whoosh internals used but not listed in searchkit.engine.whoosh_internals."
        "PRIVATE_NAMES (or, if public, PUBLIC_NAMES):\n" + "\n".join(missing)
    )


def test_the_scan_finds_an_unlisted_internal(tmp_path: Path, monkeypatch: Any) -> None:
    """The completeness check itself: a new private attribute, override or import
    shows up in the scan."""
    source = textwrap.dedent(
        """
        from whoosh.codec.whoosh3 import W3LeafMatcher, _vecfield
        from whoosh.writing import SegmentWriter

        class Mine(SegmentWriter):
            def _finish(self):
                self._tempstorage.destroy()

        def peek(m: W3LeafMatcher):
            return m._postfile
        """
    )
    (tmp_path / "probe.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", tmp_path)
    names = {name for name, _, _, _ in _uses("probe")}
    assert {"W3LeafMatcher", "_vecfield", "SegmentWriter", "_finish"} <= names
    assert {"_tempstorage", "_postfile"} <= names


# -- patched globals, as the running process has them -----------------------------------

_FINGERPRINT = """
import importlib, json, pkgutil, re, sys, types
import whoosh

def fingerprint(value):
    if isinstance(value, types.ModuleType):
        return "module %s %s" % (value.__name__, getattr(value, "__file__", None))
    func = getattr(value, "__func__", value)
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if callable(func) and isinstance(module, str) and isinstance(qualname, str):
        return "%s %s.%s" % (type(value).__name__, module, qualname)
    if isinstance(value, (set, frozenset)):  # in an order that does not vary by process
        shown = repr(sorted(map(repr, value)))
    elif isinstance(value, dict):
        shown = repr(sorted((repr(k), fingerprint(v)) for k, v in value.items()))
    else:
        shown = repr(value)
    return "%s %s" % (type(value).__name__, re.sub(r" at 0x[0-9a-f]+", "", shown)[:300])

def fingerprints():
    found = {}
    for info in pkgutil.walk_packages(whoosh.__path__, "whoosh."):
        try:
            module = importlib.import_module(info.name)
        except Exception:
            continue
        for name, value in list(vars(module).items()):
            if name.startswith("__"):
                continue
            found["%s %s" % (info.name, name)] = fingerprint(value)
            if isinstance(value, type) and value.__module__ == info.name:
                for attr, member in list(vars(value).items()):
                    if not attr.startswith("__"):
                        found["%s %s.%s" % (info.name, name, attr)] = fingerprint(member)
    return found
"""


#: Whoosh's own memo tables: they fill as Whoosh runs (its merge policy calls ``fib``),
#: so they differ from a fresh process's after any merge, whatever searchkit rebinds.
WHOOSH_MEMOS = {"whoosh.util _fib_cache"}


def _fingerprints_here() -> dict[str, str]:
    namespace: dict[str, Any] = {}
    exec(_FINGERPRINT, namespace)  # the same code as in the fresh process
    result: dict[str, str] = namespace["fingerprints"]()
    return result


def test_every_whoosh_global_searchkit_rebinds_is_in_the_table() -> None:
    """Whoosh's module globals and class attributes in this process (searchkit
    imported, its hooks installed) against a process that imported Whoosh alone:
    each one that differs is a PATCHED entry."""
    fresh = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT + "print(json.dumps(fingerprints()))"],
        capture_output=True,
        text=True,
        check=True,
    )
    before: dict[str, str] = json.loads(fresh.stdout)
    after = _fingerprints_here()
    changed = {key for key in before.keys() & after.keys() if before[key] != after[key]}
    changed -= WHOOSH_MEMOS
    patched = {f"{e.module} {e.name}" for e in PRIVATE_NAMES if e.kind is Kind.PATCHED}
    assert changed, "the hooks are not installed: nothing to compare"
    assert changed <= patched, sorted(
        f"{key}: {before[key]} -> {after[key]}" for key in changed - patched
    )


def test_the_rebinding_check_holds_after_whoosh_has_filled_its_memo_tables() -> None:
    """Run after a test that let Whoosh's stock merge policy run (it calls
    ``whoosh.util.fib``), the check used to see Whoosh's own memo table as a rebinding."""
    import whoosh.util

    whoosh.util.fib(30)  # what MERGE_SMALL does with enough segments
    assert whoosh.util._fib_cache
    test_every_whoosh_global_searchkit_rebinds_is_in_the_table()


# -- outside the engine -----------------------------------------------------------------


def _searchkit_private_names() -> set[str]:
    """The private methods and attributes searchkit's own classes outside the engine
    define (the engine's classes override Whoosh's)."""
    names: set[str] = set()
    for path in Path(searchkit.__file__).parent.rglob("*.py"):
        if path.parent == ENGINE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names |= {
                    item.name
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and _private(item.name)
                }
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names |= {node.attr} if _on_self(node) else set()
    return names


def _private_uses_outside(package: Path, engine: Path) -> set[tuple[str, str]]:
    """(module, attribute) of every Whoosh private name read or written on something
    other than ``self`` in ``package``'s modules outside ``engine``."""
    theirs = _whoosh_private_names() - _searchkit_private_names()
    found: set[tuple[str, str]] = set()
    for path in sorted(package.rglob("*.py")):
        if path.parent == engine:
            continue
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in theirs and not _on_self(node):
                found.add((module, node.attr))
    return found


@pytest.mark.slow
def test_no_whoosh_private_name_is_used_outside_the_engine() -> None:
    found = _private_uses_outside(Path(searchkit.__file__).parent, ENGINE)
    assert found <= OUTSIDE_ENGINE, (
        "Whoosh private names used outside searchkit.engine (move them into an engine "
        f"function, listed in whoosh_internals): {sorted(found - OUTSIDE_ENGINE)}"
    )


def test_the_outside_scan_finds_a_whoosh_private_name(tmp_path: Path) -> None:
    """The check itself: ``ix._segments()`` outside the engine is found, the same name
    inside the engine, or on ``self``, is not."""
    package = tmp_path / "pkg"
    (package / "engine").mkdir(parents=True)
    (package / "probe.py").write_text(
        "def count(ix):\n    return len(ix._segments())\n"
        "class Mine:\n    def size(self):\n        return self._segments\n",
        encoding="utf-8",
    )
    (package / "engine" / "inside.py").write_text("n = ix._segments()\n", encoding="utf-8")
    assert _private_uses_outside(package, package / "engine") == {("pkg.probe", "_segments")}
