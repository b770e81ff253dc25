"""Expected result sets computed without the query engine: every stored record of an
index is read back and its text fields analysed as they are indexed; a word or a
wildcard pattern is then looked up in those terms directly."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from searchkit import Record, SearchIndex
from searchkit.analysis.analyzer import text_analyzer
from searchkit.index.documents import record_from_json
from searchkit.index.schema import LIST_SEPARATOR

#: The fields free text searches, as they are indexed.
TEXT_FIELDS = ("title", "abstract", "keywords", "mesh")


@dataclass(frozen=True)
class Analysed:
    """One record: each text field's tokens as (position, term)."""

    pmid: str
    fields: dict[str, tuple[tuple[int, str], ...]]
    texts: dict[str, str]
    #: Each text field's words as written (:func:`written_words`).
    written: dict[str, frozenset[str]]

    def terms(self, fields: tuple[str, ...] = TEXT_FIELDS) -> set[str]:
        return {term for f in fields for _, term in self.fields.get(f, ())}


@cache
def analysed_records(index_dir: Path) -> tuple[Analysed, ...]:
    analyzer = text_analyzer()
    out = []
    with SearchIndex.open(index_dir).whoosh_index.searcher() as searcher:
        for stored in searcher.all_stored_fields():
            r = record_from_json(stored["record"])
            texts = {
                "title": r.title,
                "abstract": r.abstract or "",
                "keywords": LIST_SEPARATOR.join(r.keywords),
                "mesh": LIST_SEPARATOR.join(m.name for m in r.mesh),
            }
            fields = {
                name: tuple((t.pos, t.text) for t in analyzer(text, positions=True))
                for name, text in texts.items()
                if text
            }
            written = {name: frozenset(written_words(text)) for name, text in texts.items()}
            out.append(Analysed(r.pmid, fields, texts, written))
    return tuple(out)


@cache
def _written_vocabulary(index_dir: Path) -> frozenset[str]:
    """Every word as written in the text fields of the records."""
    return frozenset().union(*(w for r in analysed_records(index_dir) for w in r.written.values()))


def _matching_words(index_dir: Path, wildcard: str) -> frozenset[str]:
    """The words as written in the records that match ``wildcard``."""
    test = pattern(wildcard)
    return frozenset(w for w in _written_vocabulary(index_dir) if test(w))


def query_term(word: str) -> str:
    """The index term of one query word."""
    (term,) = [t.text for t in text_analyzer()(word)]
    return term


def having(index_dir: Path, word: str, fields: tuple[str, ...] = TEXT_FIELDS) -> set[str]:
    """The records with ``word`` (analysed) in one of ``fields``."""
    term = query_term(word)
    return {r.pmid for r in analysed_records(index_dir) if term in r.terms(fields)}


def _fold(text: str) -> str:
    """Lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def written_words(text: str) -> set[str]:
    """The words of a text as written: lower case, accents removed."""
    return set(re.findall(r"[^\W_]+", _fold(text)))


def with_written_word(
    index_dir: Path, wildcard: str, fields: tuple[str, ...] = TEXT_FIELDS
) -> set[str]:
    """The records with a word matching ``wildcard`` as written in one of ``fields``."""
    words = _matching_words(index_dir, wildcard)
    return {
        r.pmid
        for r in analysed_records(index_dir)
        if any(not words.isdisjoint(r.written.get(f, ())) for f in fields)
    }


def written_word_terms(
    index_dir: Path, wildcard: str, fields: tuple[str, ...] = TEXT_FIELDS
) -> set[str]:
    """The index terms of the words matching ``wildcard`` as written in the records."""
    matching = _matching_words(index_dir, wildcard)
    analyzer = text_analyzer()
    words = {
        w
        for r in analysed_records(index_dir)
        for f in fields
        for w in r.written.get(f, ()) & matching
    }
    return {t.text for w in words for t in analyzer(w)}


def pattern(wildcard: str) -> Callable[[str], bool]:
    """``absc*`` / ``tumo*r`` as a test on index terms (``*``: any characters)."""
    regex = re.compile(".*".join(re.escape(part) for part in _fold(wildcard).split("*")))
    return lambda term: regex.fullmatch(term) is not None


def with_sequence(
    index_dir: Path,
    tests: list[Callable[[str], bool]],
    fields: tuple[str, ...] = TEXT_FIELDS,
) -> set[str]:
    """The records where terms passing ``tests`` stand at consecutive positions of one
    field (a phrase; each test is one word of it)."""
    found = set()
    first, rest = tests[0], tests[1:]
    for r in analysed_records(index_dir):
        for f in fields:
            tokens = r.fields.get(f, ())
            starts = [pos for pos, term in tokens if first(term)]
            if not starts:
                continue
            at: dict[int, list[str]] = {}
            for pos, term in tokens:
                at.setdefault(pos, []).append(term)
            if any(
                all(any(test(t) for t in at.get(start + k, ())) for k, test in enumerate(rest, 1))
                for start in starts
            ):
                found.add(r.pmid)
                break
    return found


#: The fields a phrase searches under each tag whose phrases are text (PubMed's All
#: Fields here: the text fields and the affiliations; names and journals are checked
#: apart).
PHRASE_FIELDS = {
    "ad": ("affiliation",),
    "kw": ("keywords",),
    "tiab": ("title", "abstract", "keywords"),
    "tw": TEXT_FIELDS,
    "all": (*TEXT_FIELDS, "affiliation"),
}


@cache
def _text_entries(index_dir: Path) -> tuple[tuple[str, dict[str, tuple[str, ...]]], ...]:
    """Each record's PMID and its text fields' entries (a list field's entries are
    indexed apart: no phrase spans two)."""
    out = []
    with SearchIndex.open(index_dir).whoosh_index.searcher() as searcher:
        for stored in searcher.all_stored_fields():
            r = record_from_json(stored["record"])
            entries = {
                "title": (r.title,),
                "abstract": (r.abstract or "",),
                "keywords": tuple(r.keywords),
                "mesh": tuple(m.name for m in r.mesh),
                # As the index holds them: each once, in the order first met.
                "affiliation": tuple(dict.fromkeys(ad for a in r.authors for ad in a.affiliations)),
            }
            out.append((r.pmid, entries))
    return tuple(out)


def with_phrase(index_dir: Path, phrase: str, fields: tuple[str, ...]) -> set[str]:
    """The records where the words of ``phrase`` (plain words, no compounds) stand in one
    entry of one of ``fields`` at the positions the analyzer gives them in the phrase:
    a stop word's place is kept (any word may stand there, as the index keeps no stop
    words)."""
    analyzer = text_analyzer()
    words = [(t.pos, t.text) for t in analyzer(phrase, positions=True)]
    assert words, phrase
    first = words[0][0]
    wanted = [(pos - first, term) for pos, term in words]
    found = set()
    for pmid, entries in _text_entries(index_dir):
        for f in fields:
            for entry in entries[f]:
                at = {(t.pos, t.text) for t in analyzer(entry, positions=True)}
                starts = {pos for pos, term in at if term == wanted[0][1]}
                if any(all((s + off, term) in at for off, term in wanted) for s in starts):
                    found.add(pmid)
                    break
            if pmid in found:
                break
    return found


@cache
def stored_records(index_dir: Path) -> tuple[Record, ...]:
    """Every record the index at ``index_dir`` stores, as stored."""
    with SearchIndex.open(index_dir).whoosh_index.searcher() as searcher:
        return tuple(record_from_json(f["record"]) for f in searcher.all_stored_fields())


def where(index_dir: Path, test: Callable[[Record], bool]) -> set[str]:
    """The PMIDs of the stored records that pass ``test``."""
    return {r.pmid for r in stored_records(index_dir) if test(r)}


@cache
def _indexed_terms(index_dir: Path) -> tuple[tuple[str, dict[str, frozenset[str]]], ...]:
    """Each record's PMID and the terms of its text fields as indexing makes them (mode
    "index": also the codes written inside longer compounds, ``il10`` of
    "IL-10-deficient")."""
    analyzer = text_analyzer()
    return tuple(
        (
            r.pmid,
            {
                f: frozenset(t.text for t in analyzer(text, mode="index"))
                for f, text in r.texts.items()
                if text
            },
        )
        for r in analysed_records(index_dir)
    )


def with_term_starting(
    index_dir: Path, prefix: str, fields: tuple[str, ...] = TEXT_FIELDS
) -> set[str]:
    """The records with an indexed term starting with ``prefix`` in one of ``fields``."""
    return {
        pmid
        for pmid, terms in _indexed_terms(index_dir)
        if any(t.startswith(prefix) for f in fields for t in terms.get(f, ()))
    }
