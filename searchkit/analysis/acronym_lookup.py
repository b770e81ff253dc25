"""The acronym table as a search reads it: a file of sorted keyed lines, looked up.

A search needs the entries of a few words of its query: the long forms of a typed
short form (``MHC``), and the long forms that begin with a typed word. Reading the whole
table (``acronyms.json``) to find them costs a search process on a 1,000,000-record
index 40 to 60 ms of CPU and ~8 MiB (4,580 short forms, 18,565 analysed forms), and
grows with the index. So each commit also writes ``acronyms.lookup``:

    SKACRONYMS <format> <generation> <short forms> <CRC-32 of the line, 8 hex digits>
    <key>\\t<entries>\\t<CRC-32 of "key\\tentries", 8 hex digits>
    ...

one line per key, sorted by the key's bytes. A key is JSON text (ASCII): ``"s:mhc"``
holds every short form spelt ``mhc`` in any case, with its long forms, their record
counts and index terms, and its own terms; ``"f:major"`` holds the long forms (as
index terms) whose first term is ``major``, with their short form's term. Both are
in the order the whole table lists them, so a query compiles to the same query.

A lookup binary-searches the file and checks the CRC of every line it reads: a
damaged line is reported (:class:`TableDamagedError`), never used. The header names
the index generation the file was written for: a file of another generation (a commit
killed before it was written) is not used, and the whole table is read instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from searchkit.analysis.acronyms import AcronymTable, TableDamagedError, index_terms, short_key
from searchkit.atomic import atomic_write_bytes
from searchkit.crc import crc32

LOOKUP_FILE = "acronyms.lookup"
LOOKUP_VERSION = 1
_MAGIC = b"SKACRONYMS"
#: The header line is at most this long; lines are read back in pieces of _CHUNK bytes.
_HEADER_MAX = 200
_CHUNK = 4096

#: Long forms by first term: (the long form's index terms, the short form's term).
Starts = list[tuple[tuple[str, ...], str]]


def _line(key: str, entries: Any) -> bytes:
    """One line of the file: the key, its entries and their CRC-32, tab-separated."""
    body = (json.dumps(key) + "\t" + json.dumps(entries, ensure_ascii=False)).encode("utf-8")
    return body + b"\t" + f"{crc32(body):08x}".encode() + b"\n"


def write_lookup(table: AcronymTable, index_dir: Path, generation: int) -> None:
    """Write ``table`` (its forms already analysed: :meth:`AcronymTable.save` first)
    as the lookup file of index ``generation``, atomically. The entries are the table's
    own (:meth:`AcronymTable.as_saved`, :meth:`AcronymTable.by_first_term`), in the
    order a search loading the saved table meets them."""
    saved = table.as_saved()
    by_key: dict[str, list[Any]] = {}
    for sf, forms in saved.counts.items():
        entries = [(lf, n, saved.terms(lf, index_terms)) for lf, n in forms.items()]
        by_key.setdefault(short_key(sf), []).append((sf, entries, saved.terms(sf, index_terms)))
    lines = [_line("s:" + k, v) for k, v in by_key.items()]
    lines += [_line("f:" + k, v) for k, v in saved.by_first_term(index_terms).items()]
    lines.sort(key=lambda line: line[: line.index(b"\t")])
    head = f"{_MAGIC.decode()} {LOOKUP_VERSION} {generation} {len(table.counts)}".encode()
    header = head + f" {crc32(head):08x}\n".encode()
    atomic_write_bytes(index_dir / LOOKUP_FILE, header + b"".join(lines))


class AcronymLookup:
    """The saved table, read by key (what query compiling asks of an
    :class:`AcronymTable`, answered from ``acronyms.lookup``).

    The file is opened for each key looked up and closed again, never kept open or
    mapped: a commit replaces it by renaming a new file over it, which an open file
    would stop on some systems. A key's answer is kept on the object."""

    def __init__(self, path: Path, generation: int, size: int) -> None:
        self.path = path
        #: The index generation the file was written for, when opened.
        self.generation = generation
        self._size = size
        self._terms: dict[str, tuple[str, ...]] = {}
        self._found: dict[str, Any] = {}

    @classmethod
    def open(cls, index_dir: Path) -> AcronymLookup | None:
        """The lookup file of ``index_dir`` (None when there is none);
        :class:`TableDamagedError` when its header is damaged."""
        path = index_dir / LOOKUP_FILE
        try:
            with path.open("rb") as f:
                generation, size, _ = _header(f)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TableDamagedError(f"{LOOKUP_FILE} cannot be read ({exc})") from None
        return cls(path, generation, size)

    def __len__(self) -> int:
        return self._size

    def _get(self, key: str) -> Any:
        """The entries under ``key`` (None: none), by binary search of the lines."""
        if key in self._found:
            return self._found[key]
        wanted = json.dumps(key).encode()
        try:
            with self.path.open("rb") as f:
                _, _, lo = _header(f)
                hi = f.seek(0, 2)
                found = None
                while lo < hi:
                    start = _line_start(f, lo, (lo + hi) // 2)
                    key_bytes, entries, end = _read_line(f, start)
                    if key_bytes == wanted:
                        try:
                            found = json.loads(entries)
                        except ValueError:
                            raise TableDamagedError(
                                f"{LOOKUP_FILE}: the line at byte {start} cannot be read"
                            ) from None
                        break
                    if key_bytes < wanted:
                        lo = end + 1
                    else:
                        hi = start
        except OSError as exc:
            raise TableDamagedError(f"{LOOKUP_FILE} cannot be read ({exc})") from None
        self._found[key] = found
        return found

    def _short_forms(self, short: str) -> list[tuple[str, list[tuple[str, int]]]]:
        """The short forms that are ``short`` in any case or number
        (:func:`~searchkit.analysis.acronyms.short_key`) and their long forms (counts),
        their forms' terms learned on the way."""
        out = []
        for sf, forms, sf_terms in self._get("s:" + short_key(short)) or ():
            self._terms.setdefault(sf, tuple(sf_terms))
            for lf, _, terms in forms:
                self._terms.setdefault(lf, tuple(terms))
            out.append((sf, [(lf, int(n)) for lf, n, _ in forms]))
        return out

    def long_forms(self, short: str) -> list[tuple[str, int]]:
        """:meth:`AcronymTable.long_forms`."""
        spellings = self._short_forms(short)
        forms: Counter[str] = Counter()
        exact = [f for sf, f in spellings if sf == short]
        for found in exact or [f for _, f in spellings]:
            forms.update(dict(found))
        return sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))

    def terms(self, form: str, analyse: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
        """:meth:`AcronymTable.terms` of a form this lookup has read (else analysed)."""
        found = self._terms.get(form)
        if found is None:
            found = self._terms[form] = tuple(analyse(form))
        return found

    def starting_with(self, term: str, analyse: Callable[[str], Iterable[str]]) -> Starts:
        """:meth:`AcronymTable.starting_with`."""
        return [(tuple(terms), short) for terms, short in self._get("f:" + term) or ()]

    def check(self) -> None:
        """Read every line (``searchkit check``): :class:`TableDamagedError` at the
        first damaged one, or when the lines are out of order."""
        try:
            with self.path.open("rb") as f:
                _, _, at = _header(f)
                size, previous = f.seek(0, 2), b""
                while at < size:
                    key, _, end = _read_line(f, at)
                    if key <= previous:
                        raise TableDamagedError(
                            f"{LOOKUP_FILE}: the line at byte {at} is out of order"
                        )
                    previous, at = key, end + 1
        except OSError as exc:
            raise TableDamagedError(f"{LOOKUP_FILE} cannot be read ({exc})") from None


def _header(f: BinaryIO) -> tuple[int, int, int]:
    """The generation and short-form count of the file's header line, and where its
    first line starts; :class:`TableDamagedError` when the header is damaged."""
    f.seek(0)
    line = f.readline(_HEADER_MAX)
    fields = line.rstrip(b"\n").split(b" ")
    try:
        if not line.endswith(b"\n") or len(fields) != 5 or fields[0] != _MAGIC:
            raise ValueError
        if int(fields[4], 16) != crc32(b" ".join(fields[:4])):
            raise ValueError
        version, generation, count = int(fields[1]), int(fields[2]), int(fields[3])
    except ValueError:
        raise TableDamagedError(f"{LOOKUP_FILE}: damaged header") from None
    if version != LOOKUP_VERSION:
        raise TableDamagedError(f"{LOOKUP_FILE} is of format {version}, not {LOOKUP_VERSION}")
    return generation, count, len(line)


def _line_start(f: BinaryIO, lo: int, at: int) -> int:
    """Where the line holding byte ``at`` starts (``lo`` at the earliest: a line start)."""
    pos = at
    while pos > lo:
        step = min(_CHUNK, pos - lo)
        f.seek(pos - step)
        found = f.read(step).rfind(b"\n")
        if found >= 0:
            return pos - step + found + 1
        pos -= step
    return lo


def _read_line(f: BinaryIO, start: int) -> tuple[bytes, bytes, int]:
    """The key and entries of the line at ``start``, and where it ends (its newline);
    :class:`TableDamagedError` when it does not match its CRC."""
    f.seek(start)
    line = f.readline()
    end = start + len(line) - 1 if line.endswith(b"\n") else start + len(line)
    body, tab, crc = line.rstrip(b"\n").rpartition(b"\t")
    key, tab2, entries = body.partition(b"\t")
    try:
        good = bool(tab and tab2) and len(crc) == 8 and int(crc, 16) == crc32(body)
    except ValueError:
        good = False
    if not good:
        raise TableDamagedError(
            f"{LOOKUP_FILE}: the line at byte {start} does not match its checksum"
        )
    return key, entries, end
