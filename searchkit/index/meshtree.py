"""NLM's MeSH tree: which headings are narrower than which, read from NLM's descriptor
file (``descYYYY.xml``, or ``.gz``) and kept with the index.

Each descriptor has tree numbers (Lung Neoplasms: C04.588.894.797.520, C08.381.540,
C08.785.520); a heading explodes to every descriptor with a tree number that starts
with one of its own followed by a dot. The entry terms (synonyms) of a descriptor
name it too ("Lung Cancer" → Lung Neoplasms); permuted entry terms are left out.

The file is streamed with ``lxml.etree.iterparse`` as untrusted input, like PubMed
XML: no DTD is loaded, nothing is fetched, entities are never expanded (a descriptor
that uses one is refused, naming it). The tree is stored in the index directory as
gzipped JSON (:data:`TREE_FILE`), written atomically.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchkit.atomic import atomic_write_bytes
from searchkit.errors import IndexFormatError, InputError, SearchkitError
from searchkit.index.meshnames import normalize

TREE_FILE = "mesh_tree.json.gz"
TREE_FORMAT = 1
_ROOT = "DescriptorRecordSet"
_RECORD = "DescriptorRecord"
_TRAILING_POSITION = re.compile(r",?\s*line \d+(?:, column \d+)?\s*$")


@dataclass(frozen=True)
class Descriptor:
    """A MeSH descriptor: its heading, tree numbers and (non-permuted) entry terms;
    ``key`` is the heading as indexed and the entry terms are kept the same way
    (:func:`normalize`d)."""

    name: str
    tree_numbers: tuple[str, ...] = ()
    entry_terms: tuple[str, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", normalize(self.name))


class MeshTree:
    """Descriptors by heading and entry term, and the narrower-than relation."""

    def __init__(self, descriptors: list[Descriptor], source: str = "") -> None:
        self.descriptors = descriptors
        self.source = source
        #: Normalized headings and entry terms → descriptor positions (a heading wins
        #: over another descriptor's entry term).
        self.lookup: dict[str, int] = {}
        for i, d in enumerate(descriptors):
            for term in d.entry_terms:
                self.lookup.setdefault(term, i)
        self.lookup.update((d.key, i) for i, d in enumerate(descriptors))
        self._numbers: list[tuple[str, int]] | None = None

    def __len__(self) -> int:
        return len(self.descriptors)

    def find(self, text: str) -> Descriptor | None:
        """The descriptor whose heading (else one of whose entry terms) is ``text``."""
        found = self.lookup.get(normalize(text))
        return None if found is None else self.descriptors[found]

    def under(self, tree_number: str) -> list[tuple[str, Descriptor]]:
        """The tree numbers under ``tree_number`` (not itself), with their descriptors."""
        if self._numbers is None:
            self._numbers = sorted(
                (number, i) for i, d in enumerate(self.descriptors) for number in d.tree_numbers
            )
        prefix = tree_number + "."
        start = bisect.bisect_left(self._numbers, (prefix, -1))
        found: list[tuple[str, Descriptor]] = []
        for number, i in self._numbers[start:]:
            if not number.startswith(prefix):
                break
            found.append((number, self.descriptors[i]))
        return found

    def below(self, tree_number: str) -> list[Descriptor]:
        """Descriptors with a tree number under ``tree_number`` (not itself)."""
        found = {d.key: d for _, d in self.under(tree_number)}
        return list(found.values())

    def children(self, tree_number: str) -> list[Descriptor]:
        """Descriptors with a tree number one level under ``tree_number``."""
        depth = tree_number.count(".") + 1
        found = {d.key: d for n, d in self.under(tree_number) if n.count(".") == depth}
        return list(found.values())

    def narrower(self, descriptor: Descriptor) -> list[Descriptor]:
        """Every descriptor narrower than ``descriptor``, under any of its tree numbers."""
        found: dict[str, Descriptor] = {}
        for number in descriptor.tree_numbers:
            for d in self.below(number):
                if d.key != descriptor.key:
                    found.setdefault(d.key, d)
        return list(found.values())

    # -- storage ---------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The tree as stored: gzipped JSON (the same bytes for the same tree)."""
        data = {
            "format": TREE_FORMAT,
            "source": self.source,
            "descriptors": [
                [d.name, d.key, list(d.tree_numbers), list(d.entry_terms)] for d in self.descriptors
            ],
        }
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return gzip.compress(payload, compresslevel=6, mtime=0)

    @classmethod
    def from_bytes(cls, raw: bytes, where: str) -> MeshTree:
        """The tree :meth:`to_bytes` made; an IndexFormatError naming ``where`` (the
        file or collection it was read from) when it cannot be read."""
        try:
            data: Any = json.loads(gzip.decompress(raw))
            if data.get("format") != TREE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {TREE_FORMAT}")
            descriptors = [
                Descriptor(str(name), tuple(numbers), tuple(entries), str(key))
                for name, key, numbers, entries in data["descriptors"]
            ]
        except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
            raise IndexFormatError(
                f"cannot read the MeSH tree {where} ({exc}); load it again with "
                "searchkit mesh load FILE"
            ) from None
        return cls(descriptors, str(data.get("source", "")))

    def save(self, index_dir: Path) -> None:
        """Write the tree into ``index_dir`` atomically and durably (temp file, fsync,
        rename, as searchkit's other files: :func:`searchkit.atomic.atomic_write_bytes`)."""
        atomic_write_bytes(index_dir / TREE_FILE, self.to_bytes())

    @classmethod
    def load(cls, index_dir: Path) -> MeshTree | None:
        """The tree stored in ``index_dir``, or None when none was loaded."""
        path = index_dir / TREE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexFormatError(f"cannot read the MeSH tree {path}: {exc}") from None
        return cls.from_bytes(raw, str(path))

    @staticmethod
    def stamp(index_dir: Path) -> tuple[int, int] | None:
        """(modification time, size) of the stored tree: changes when it is replaced."""
        try:
            st = (index_dir / TREE_FILE).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size


def copy_mesh_tree(source_index: Path, target_index: Path) -> None:
    """Copy the stored tree of one index into another (a rebuild keeps it)."""
    path = source_index / TREE_FILE
    if path.is_file():
        shutil.copy2(path, target_index / TREE_FILE)


# -- reading NLM's descriptor file ------------------------------------------------------


def read_descriptors(path: Path) -> Iterator[Descriptor]:
    """Yield the descriptors of NLM's descriptor XML file ``path`` (gzipped or not).

    Raises :class:`InputError` naming the file and line for a malformed file, a file
    that is not a ``DescriptorRecordSet``, or a descriptor that uses an entity."""
    # lxml and the readers only for loading the file, not for searching with the tree.
    from lxml import etree

    from searchkit.readers._io import open_bytes
    from searchkit.readers._xml import safe_iterparse

    source = str(path)
    with open_bytes(path) as stream:
        events = safe_iterparse(stream, (_ROOT, _RECORD))
        seen_root = False
        try:
            for event, elem in events:
                if elem.tag == _ROOT:
                    seen_root = True
                    continue
                if event == "end":
                    yield _descriptor(elem, source)
                    elem.clear(keep_tail=False)
                    while elem.getprevious() is not None:
                        del elem.getparent()[0]
        except etree.XMLSyntaxError as exc:
            location = f"line {exc.lineno}" if exc.lineno and exc.lineno > 0 else None
            message = _TRAILING_POSITION.sub("", exc.msg or str(exc)).strip()
            if "amplification" in message:
                message = (
                    'refused: the DOCTYPE declares entities that expand exponentially (a "billion '
                    'laughs" entity bomb)'
                )
            else:
                message = f"malformed XML: {message}"
            raise InputError(source, message, location) from None
    if not seen_root:
        raise InputError(source, f"not a MeSH descriptor file: no <{_ROOT}> element")


def _descriptor(elem: Any, source: str) -> Descriptor:
    from lxml import etree

    where = f"line {elem.sourceline}" if elem.sourceline else None
    for node in elem.iter(etree.Entity):
        raise InputError(
            source,
            f"a descriptor uses the entity &{node.name}; entities are never expanded",
            f"line {node.sourceline or elem.sourceline}",
        )
    name = " ".join((elem.findtext("DescriptorName/String") or "").split())
    if not name:
        raise InputError(source, "a DescriptorRecord without a DescriptorName", where)
    numbers = tuple(
        t.text.strip()
        for t in elem.iterfind("TreeNumberList/TreeNumber")
        if t.text and t.text.strip()
    )
    key = normalize(name)
    entries: dict[str, None] = {}
    for term in elem.iterfind("ConceptList/Concept/TermList/Term"):
        text = normalize(term.findtext("String") or "")
        if text and text != key and term.get("IsPermutedTermYN") != "Y":
            entries[text] = None
    return Descriptor(name, numbers, tuple(entries), key)


def read_tree(path: Path) -> MeshTree:
    """The tree of NLM's descriptor file ``path``. Raises :class:`InputError` for a file
    that cannot be used."""
    if not path.is_file():
        raise InputError(str(path), "no such file" if not path.exists() else "not a file")
    descriptors = list(read_descriptors(path))
    if not descriptors:
        raise InputError(str(path), f"no descriptors (no <{_RECORD}> in the file)")
    return MeshTree(descriptors, path.name)


def load_descriptor_file(path: Path, index_dir: Path) -> MeshTree:
    """Read NLM's descriptor file ``path`` and store its tree with the index at
    ``index_dir`` (replacing any tree loaded before, only once the whole file has been
    read). Raises :class:`InputError` for a file that cannot be used."""
    tree = read_tree(path)
    try:
        tree.save(index_dir)
    except OSError as exc:
        raise SearchkitError(f"cannot write the MeSH tree into {index_dir}: {exc}") from None
    return tree
