"""Acronyms learned from the indexed records, kept with the index.

At ingest, "long form (SHORT FORM)" definitions are mined from titles and abstracts with
the Schwartz-Hearst algorithm (Schwartz & Hearst, PSB 2003). The table counts, for each
short form and long form, the records that define it; it is updated on every add,
replace and delete, and saved as ``acronyms.json`` in the index directory after each
commit. Query building uses it: ``MHC`` also searches "major histocompatibility
complex" (ambiguous short forms spread the weight by how often each long form occurs),
and the long form also searches the short form, both at a lower weight than the typed
words.

The saved table (format 2) also holds every short and long form as the index terms
the text analyzer makes of it, so that no search analyses the whole table again; a
form new to the table is analysed when the table is saved. The file carries the CRC-32
of its table: a damaged one is reported (:class:`TableDamagedError`), not used. A
table of format 1 (without the terms) is still read: its forms are analysed when a
query needs them, and the next commit saves it in format 2. Each commit also writes
the table as keyed lines (:mod:`searchkit.analysis.acronym_lookup`), which a search
reads by key through :class:`AcronymSource` instead of loading this file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from searchkit.analysis.analyzer import (
    fold_greek,
    singular,
    text_analyzer,
    unjoined,
    whole_term,
)
from searchkit.atomic import atomic_write_text
from searchkit.crc import crc32
from searchkit.errors import IndexFormatError
from searchkit.records import Record

TABLE_FILE = "acronyms.json"
TABLE_VERSION = 2
#: Tables of these versions are read (1: without the analysed forms).
READ_VERSIONS = (1, 2)
# A format-2 file: this header, then the table's JSON (whose CRC-32 the header gives).
_HEADER = re.compile(r'\{"version": (\d+), "generation": (-?\d+|null), "crc32": (\d+), "table": ')

# A sentence ends at ".", "!" or "?" followed by spaces and a capital letter.
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z])")
_PARENS = re.compile(r"\(([^()]{1,40})\)")
_SF_END = re.compile(r"[;,]")  # a short form ends at the first of these
_UP_TO_BRACKET = re.compile(r"^.*[()\[\]]")  # a long form starts after the last


def _valid_short_form(sf: str) -> bool:
    return (
        2 <= len(sf) <= 10
        and len(sf.split()) <= 2
        and sf[0].isalnum()
        and any(map(str.isupper, sf))
        and any(map(str.isalpha, sf))
    )


def _best_long_form(sf: str, candidate: str) -> str | None:
    """Schwartz-Hearst: match the short form's characters right to left in the
    candidate; the first one must start a word. Returns the shortest matching long form."""
    s = len(sf) - 1
    lf = len(candidate) - 1
    while s >= 0:
        c = sf[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while (lf >= 0 and candidate[lf].lower() != c) or (
            s == 0 and lf > 0 and candidate[lf - 1].isalnum()
        ):
            lf -= 1
        if lf < 0:
            return None
        lf -= 1
        s -= 1
    start = candidate.rfind(" ", 0, lf + 1) + 1
    return candidate[start:]


def _sentences(text: str) -> Iterator[str]:
    """``text`` split after each sentence end (the spaces between dropped). Scanning
    for the punctuation first is several times faster than splitting at spaces
    preceded by it (a look-behind tried at every character)."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        yield text[start : m.start() + 1]
        start = m.end()
    yield text[start:]


def mine(text: str) -> list[tuple[str, str]]:
    """(short form, long form) definitions in ``text``, in order, long forms lower-cased.

    >>> mine("Loss of major histocompatibility complex (MHC) class I expression")
    [('MHC', 'major histocompatibility complex')]
    """
    found: list[tuple[str, str]] = []
    if "(" not in text:  # most titles and many abstracts: nothing to split or scan
        return found
    # Single spaces (str.split's whitespace is the regex's \s; the ends, which it
    # also drops, never reach a long form: candidates are stripped).
    for sentence in _sentences(" ".join(text.split())):
        if "(" not in sentence:
            continue
        for m in _PARENS.finditer(sentence):
            sf = _SF_END.split(m.group(1))[0].strip()
            if not _valid_short_form(sf):
                continue
            words = sentence[: m.start()].rstrip().split(" ")
            limit = min(len(sf) + 5, len(sf) * 2)
            candidate = fold_greek(" ".join(words[-limit:]).strip())
            if not candidate:
                continue
            lf = _best_long_form(fold_greek(sf), candidate)
            if lf is None:
                continue
            lf = _UP_TO_BRACKET.sub("", lf).strip(" ,;:-/").lower()
            n_words = len(lf.split())
            if len(lf) <= len(sf) or n_words > limit or (n_words < 2 and "-" not in lf):
                continue
            if sf.lower() in lf.split():
                continue
            found.append((sf, lf))
    return found


def mine_record(record: Record) -> set[tuple[str, str]]:
    """The distinct definitions in a record's title and abstract."""
    pairs: set[tuple[str, str]] = set()
    for text in (record.title, record.abstract):
        if text:
            pairs.update(mine(text))
    return pairs


def short_key(short: str) -> str:
    """What a short form is looked up by: lower-case, an acronym's plural as its
    singular (``CSCs`` → ``csc``, as the analyzer indexes it), without the hyphens
    that join its pieces (``PD-1`` → ``pd1``, as the analyzer joins them), so that a
    search for ``CSC`` is expanded with what the records define as ``CSCs``, and one
    for ``PD1`` with what they define as ``PD-1``; Greek letters by their names, and
    the Latin letters that stand for them read so (``NF-kB``, ``NF-κB`` → ``nfkappab``:
    :func:`~searchkit.analysis.analyzer.whole_term`)."""
    return whole_term(unjoined(fold_greek(singular(short)).lower()))


class TableDamagedError(IndexFormatError):
    """The saved table does not match its checksum (or cannot be read at all)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


def index_terms(text: str) -> tuple[str, ...]:
    """The index terms of a form, in sequence, as a query of it is analysed (a
    compound by its catenation, not its parts)."""
    return tuple(
        t.text
        for t in _analyzer()(text, mode="query", positions=True, keeporiginal=True)
        if getattr(t, "kind", "word") != "part"
    )


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    return text_analyzer()


class AcronymSource(Protocol):
    """What compiling a query asks of the acronyms: an :class:`AcronymTable` in memory,
    or the saved table read by key
    (:class:`~searchkit.analysis.acronym_lookup.AcronymLookup`)."""

    def __len__(self) -> int: ...

    def long_forms(self, short: str) -> list[tuple[str, int]]:
        """Long forms of ``short`` (exact case first, else any case), most frequent
        first, with their record counts."""
        ...

    def terms(self, form: str, analyse: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
        """The index terms of ``form`` (saved, else ``analyse``-d)."""
        ...

    def starting_with(
        self, term: str, analyse: Callable[[str], Iterable[str]]
    ) -> list[tuple[tuple[str, ...], str]]:
        """The long forms of two terms or more (as index terms) whose first term is
        ``term``, each with its short form's term (short forms of one term only)."""
        ...


@dataclass
class AcronymTable:
    """Short form → long form → number of records defining it."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    #: Forms (short and long) → their index terms (:func:`index_terms`), as saved.
    analysed: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    # The index generation (Whoosh commit) the counts describe; None if unknown.
    generation: int | None = None
    # Derived lookups built by query code; cleared on every change.
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def add(self, pairs: Iterable[tuple[str, str]], sign: int = 1) -> None:
        self.cache.clear()
        for sf, lf in pairs:
            forms = self.counts.setdefault(sf, Counter())
            forms[lf] += sign
            if forms[lf] <= 0:
                del forms[lf]
                if not forms:
                    del self.counts[sf]

    def remove(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.add(pairs, sign=-1)

    def long_forms(self, short: str) -> list[tuple[str, int]]:
        """Long forms of ``short`` (as written first, else in any case or number:
        :func:`short_key`), most frequent first."""
        forms: Counter[str] = Counter(self.counts.get(short, {}))
        if not forms:
            for sf in self._by_key().get(short_key(short), ()):
                forms.update(self.counts[sf])
        return sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))

    def _by_key(self) -> dict[str, list[str]]:
        """Short forms by :func:`short_key` (built once per change of the table: a
        query word is looked up in any case or number without scanning every entry)."""
        found = self.cache.get("by_key")
        if isinstance(found, dict):
            return found
        by_key: dict[str, list[str]] = {}
        for sf in self.counts:
            by_key.setdefault(short_key(sf), []).append(sf)
        self.cache["by_key"] = by_key
        return by_key

    def rows(self, short: str | None = None) -> list[tuple[str, int, str]]:
        """(short form, records, long form) rows, by short form then frequency (of the
        short forms that are ``short`` in any case or number, when given)."""
        out: list[tuple[str, int, str]] = []
        for sf in sorted(self.counts, key=lambda s: (s.lower(), s)):
            if short is not None and short_key(sf) != short_key(short):
                continue
            for lf, n in sorted(self.counts[sf].items(), key=lambda kv: (-kv[1], kv[0])):
                out.append((sf, n, lf))
        return out

    def __len__(self) -> int:
        return len(self.counts)

    def terms(self, form: str, analyse: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
        """The index terms of ``form``: as saved with the table, else ``analyse``-d (and
        kept)."""
        found = self.analysed.get(form)
        if found is None:
            found = self.analysed[form] = tuple(analyse(form))
        return found

    def starting_with(
        self, term: str, analyse: Callable[[str], Iterable[str]]
    ) -> list[tuple[tuple[str, ...], str]]:
        """:meth:`AcronymSource.starting_with`, from :meth:`by_first_term`."""
        return self.by_first_term(analyse).get(term, [])

    def by_first_term(
        self, analyse: Callable[[str], Iterable[str]]
    ) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        """Long forms (as index terms) by their first term, with the short form's term;
        built once per change of the table. The terms are those saved with the table,
        else ``analyse``-d now."""
        found = self.cache.get("by_first_term")
        if isinstance(found, dict):
            return found
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for sf, lfs in self.counts.items():
            sf_terms = self.terms(sf, analyse)
            if len(sf_terms) != 1:
                continue
            for lf in lfs:
                terms = self.terms(lf, analyse)
                if len(terms) >= 2:
                    by_first.setdefault(terms[0], []).append((terms, sf_terms[0]))
        self.cache["by_first_term"] = by_first
        return by_first

    def as_saved(self) -> AcronymTable:
        """The table as :meth:`load` reads it back after :meth:`save`: its entries in
        the saved order, the order in which compiling a query meets them."""
        table = AcronymTable(generation=self.generation, analysed=dict(self.analysed))
        for sf, n, lf in self.rows():
            table.counts.setdefault(sf, Counter())[lf] = n
        return table

    # -- persistence --------------------------------------------------------------

    @classmethod
    def load(cls, index_dir: Path) -> AcronymTable:
        """The table saved in ``index_dir`` (empty if there is none yet);
        :class:`TableDamagedError` when it does not match its checksum."""
        path = index_dir / TABLE_FILE
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise TableDamagedError(f"{TABLE_FILE} cannot be read ({exc})") from None
        header = _HEADER.match(text)
        try:
            if header is not None:
                body = text[header.end() :].rstrip("\n")
                if not body.endswith("}") or crc32(body[:-1].encode("utf-8")) != int(
                    header.group(3)
                ):
                    raise TableDamagedError(f"{TABLE_FILE} does not match its checksum")
                version = int(header.group(1))
                generation = None if header.group(2) == "null" else int(header.group(2))
                data = json.loads(body[:-1])
                rows, terms = data["acronyms"], data["terms"]
            else:  # format 1: one JSON object, no checksum
                data = json.loads(text)
                version, generation = data.get("version"), data.get("generation")
                rows, terms = data["acronyms"], {}
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise TableDamagedError(f"{TABLE_FILE} cannot be read ({exc})") from None
        if version not in READ_VERSIONS or not isinstance(rows, list):
            raise TableDamagedError(f"{TABLE_FILE} is not a searchkit acronym table")
        table = cls(generation=generation if isinstance(generation, int) else None)
        for sf, lf, n in rows:
            table.counts.setdefault(str(sf), Counter())[str(lf)] = int(n)
        table.analysed = {str(k): tuple(v) for k, v in terms.items()}
        return table

    def save(self, index_dir: Path, generation: int) -> None:
        """Write the table for index ``generation`` atomically (temp file, then rename),
        with every form's index terms (those not yet known analysed now)."""
        self.generation = generation
        path = index_dir / TABLE_FILE
        table = self.rows()  # sorted once: the table is saved at every commit
        rows = [[sf, lf, n] for sf, n, lf in table]
        forms = {f for sf, _, lf in table for f in (sf, lf)}
        terms = {f: list(self.terms(f, index_terms)) for f in sorted(forms)}
        self.analysed = {f: tuple(t) for f, t in terms.items()}
        body = json.dumps({"acronyms": rows, "terms": terms}, ensure_ascii=False)
        crc = crc32(body.encode("utf-8"))
        atomic_write_text(
            path,
            f'{{"version": {TABLE_VERSION}, "generation": {generation}, "crc32": {crc}, '
            f'"table": {body}}}\n',
        )

    @classmethod
    def rebuild(cls, records: Iterable[Record], generation: int) -> AcronymTable:
        """A table mined afresh from every record (when the saved one is missing or is
        not of the index's generation, e.g. after a crash between commit and save)."""
        table = cls(generation=generation)
        for record in records:
            table.add(mine_record(record))
        return table
