"""'Did you mean': corrections of query words from the index vocabulary.

The text fields hold stems ("immun"), so a misspelt word is corrected in stem
space, from the index's vocabulary written at each commit
(:mod:`searchkit.index.vocabulary`: only the terms that can be close are read), and
the stem is turned back into a word as it is written in the abstracts that contain it
("immune").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from whoosh.searching import Searcher

from searchkit.engine.postings import SegmentArrays
from searchkit.index.vocabulary import FIELDS, Vocabulary
from searchkit.query.tags import PREFIXES, TAGS

#: Words shorter than this are left alone (abbreviations, gene symbols: "sars").
MIN_WORD = 5
#: Words up to this long are corrected by one slip at most (a letter missing, extra,
#: wrong, or two letters swapped); longer words by two.
ONE_SLIP_WORD = 7
#: A correction must be a word of at least this many records ("clearly more frequent"
#: than the typed word, which is in none).
MIN_CORRECTION_DOCS = 2
#: Longer words are not corrected: no real word is this long, and the edit-distance
#: search over the vocabulary grows with the word's length.
MAX_WORD = 40
#: How many documents are read to find the written form of a corrected stem.
SURFACE_DOCS = 5

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")
_TAG = re.compile(r"\[([^\]]*)\]")
_PREFIX = re.compile(r"\b([A-Za-z]+):")
_VALUE = re.compile(r'"[^"]*"|\S+')
# Field keys whose words are ordinary text (worth correcting).
TEXT_KEYS = frozenset(
    {"title", "abstract", "tiab", "textword", "keyword", "mesh", "majr", "mesh_noexp", "majr_noexp"}
)
_OPERATORS = frozenset({"AND", "OR", "NOT"})


def _edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two adjacent letters) from ``a`` to ``b``
    (optimal string alignment distance)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def max_edits(word: str) -> int:
    """How far a correction of ``word`` may be from it."""
    return 1 if len(word) <= ONE_SLIP_WORD else 2


def _acronym(word: str) -> bool:
    """Written like an acronym or a code: capitals after the first letter (SARS, CoV)."""
    return any(c.isupper() for c in word[1:])


def _known(searcher: Searcher, stem: str) -> bool:
    reader = searcher.reader()
    return any(reader.doc_frequency(f, stem) > 0 for f in FIELDS)


def _records(searcher: Searcher, stem: str) -> int:
    """In how many records (at most) ``stem`` occurs in one of ``FIELDS``."""
    reader = searcher.reader()
    return max(reader.doc_frequency(f, stem) for f in FIELDS)


def _surface_forms(searcher: Searcher, stem: str) -> Counter[str]:
    """How the documents containing ``stem`` write it."""
    forms: Counter[str] = Counter()
    analyzer = searcher.schema["abstract"].analyzer
    for docnum in _first_docs(searcher, stem, SURFACE_DOCS):
        stored = searcher.stored_fields(docnum)
        for f in FIELDS:
            text = stored.get(f) or ""
            for token in analyzer(text, chars=True, mode="index"):
                if token.text == stem:
                    forms[text[token.startchar : token.endchar].lower()] += 1
    return forms


def _first_docs(searcher: Searcher, stem: str, n: int) -> list[int]:
    """Up to ``n`` documents containing ``stem`` in one of ``FIELDS`` (the first ones
    found: any will do to see how it is written)."""
    found: set[int] = set()
    for sub, offset in searcher.leaf_searchers():
        arrays = SegmentArrays(sub.reader())
        for f in FIELDS:
            ids, _ = arrays.postings(f, stem)
            found.update((ids[:n] + offset).tolist())
        if len(found) >= n:
            break
    return sorted(found)[:n]


def correct_word(searcher: Searcher, word: str, vocabulary: Vocabulary | None = None) -> str | None:
    """A correction for ``word`` if its stem is not in the index, else ``None``: a word
    of at least :data:`MIN_CORRECTION_DOCS` records within :func:`max_edits` of it.

    ``vocabulary``: the index's (:func:`searchkit.index.vocabulary.load`) for the
    searcher's generation; without it, it is read from the segments first."""
    if _acronym(word):
        return None
    stems = list(searcher.schema["abstract"].process_text(word, mode="query"))
    if len(stems) != 1 or _known(searcher, stems[0]):
        return None
    lowered = word.lower()
    limit = max_edits(lowered)
    if vocabulary is None:
        vocabulary = Vocabulary.from_reader(searcher.reader())
    best: tuple[int, int, str] | None = None
    seen: set[str] = set()
    for f in FIELDS:
        for candidate in vocabulary.suggest(f, stems[0], limit=3, maxdist=2, prefix=1):
            # A candidate of both fields is read once: its written forms are the same.
            if candidate in seen or _records(searcher, candidate) < MIN_CORRECTION_DOCS:
                continue
            seen.add(candidate)
            for form, n in _surface_forms(searcher, candidate).items():
                key = (_edit_distance(lowered, form), -n, form)
                if best is None or key < best:
                    best = key
    if best is None or best[0] > limit:
        return None
    return best[2]


def _protected(query: str) -> list[tuple[int, int]]:
    """Spans not to correct: tags, field prefixes, and the values of fields that
    are names or codes (authors, journals, types, languages, PMIDs, years)."""
    spans: list[tuple[int, int]] = []
    for m in _TAG.finditer(query):
        spans.append(m.span())
        if TAGS.get(" ".join(m.group(1).lower().split())) not in TEXT_KEYS:
            start = max(query.rfind(c, 0, m.start()) for c in '()"]') + 1
            for op in _OPERATORS:
                found = query.rfind(f" {op} ", start, m.start())
                if found >= 0:
                    start = max(start, found + len(op) + 2)
            spans.append((start, m.start()))
    for m in _PREFIX.finditer(query):
        spans.append((m.start(), m.end()))
        if PREFIXES.get(m.group(1).lower()) not in TEXT_KEYS:
            value = _VALUE.match(query, m.end())
            if value:
                spans.append(value.span())
    return spans


def did_you_mean(
    searcher: Searcher,
    query: str,
    better: Callable[[str], bool],
    vocabulary: Vocabulary | None = None,
) -> str | None:
    """``query`` with its unknown words corrected, if that finds more records
    (``better`` decides); ``None`` when there is nothing to suggest. ``vocabulary``:
    as for :func:`correct_word` (read once for all the words when not given)."""
    skipped = _protected(query)
    pieces: list[str] = []
    last = 0
    changed = False
    for match in _WORD.finditer(query):
        word = match.group()
        if word in _OPERATORS or not MIN_WORD <= len(word) <= MAX_WORD:
            continue
        if any(s <= match.start() < e for s, e in skipped) or query[match.end() :].startswith("*"):
            continue
        if vocabulary is None:
            vocabulary = Vocabulary.from_reader(searcher.reader())
        fixed = correct_word(searcher, word, vocabulary)
        if fixed is None or fixed == word.lower():
            continue
        pieces.append(query[last : match.start()])
        pieces.append(fixed)
        last = match.end()
        changed = True
    if not changed:
        return None
    # One line of plain spaces: the suggestion is printed on one stderr line.
    suggestion = " ".join(("".join(pieces) + query[last:]).split())
    return suggestion if better(suggestion) else None
