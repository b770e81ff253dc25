"""What to tell the user when a publication type, language or journal of the query
(``[pt]``, ``[la]``, ``[ta]`` and their ``field:`` forms) is no record's: those
values match whole, so a typo or a word too many finds nothing, and a silent 0 reads
as "no such records". As ``[mh]`` does for headings (:func:`searchkit.index.mesh.unmatched_notes`),
one note for each, naming the nearest value the index holds."""

from __future__ import annotations

from difflib import SequenceMatcher, get_close_matches
from typing import Any

from whoosh.fields import Schema

from searchkit.index.schema import normalize_entry
from searchkit.query.filters import LANGUAGE_CODES
from searchkit.query.syntax import And, Node, Not, Or, Phrase, Tagged

#: Query key → (the index field, the tag a note writes, what a value of it is).
VALUE_KEYS: dict[str, tuple[str, str, str]] = {
    "pubtype": ("pubtype", "pt", "publication type"),
    "language": ("language", "la", "language"),
    "journal": ("journal", "ta", "journal"),
}
_LANGUAGE_NAMES = {code: name for name, code in LANGUAGE_CODES.items()}


def value_notes(reader: Any, schema: Schema, node: Node) -> list[str]:
    """A note for each publication type, language or journal of ``node`` that no
    record in ``reader`` has (a type searched under its former name too counts as one
    value, found when either name is)."""
    values: dict[tuple[str, int], list[str]] = {}
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, And | Or):
            stack.extend(reversed(current.children))
        elif isinstance(current, Not):
            stack.extend((current.negative, current.positive))
        elif isinstance(current, Tagged | Phrase) and current.key in VALUE_KEYS:
            text = " ".join(current.words) if isinstance(current, Tagged) else current.text
            values.setdefault((current.key, current.pos), []).append(text)
    notes: list[str] = []
    for (key, _), texts in values.items():
        field = VALUE_KEYS[key][0]
        if field not in schema or any(_held(reader, schema, key, text) for text in texts):
            continue
        notes.append(_note(reader, key, texts[0]))
    return notes


def _held(reader: Any, schema: Schema, key: str, text: str) -> bool:
    """Whether a record has the value ``text`` of ``key`` (as the query compiles it)."""
    if key == "language":
        text = LANGUAGE_CODES.get(text.strip().lower(), text)
    field = VALUE_KEYS[key][0]
    return any(
        reader.doc_frequency(field, t) for t in schema[field].process_text(text, mode="query")
    )


def _note(reader: Any, key: str, text: str) -> str:
    field, tag, what = VALUE_KEYS[key]
    head = f"{text}[{tag}] is not a {what} of any record"
    written = normalize_entry(text)
    words = written.split()
    if key == "journal":  # a journal's name is the whole run: one may end it
        for start in range(1, len(words)):
            tail = " ".join(words[start:])
            if reader.doc_frequency(field, tail):
                before = " ".join(words[:start])
                return (
                    f"{head}, but {tail}[{tag}] is: a journal's name is the whole run of "
                    f"words before [{tag}] (write {before} AND {tail}[{tag}])"
                )
    held = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in reader.lexicon(field)]
    if key == "language":  # a code, or its name
        held += [_LANGUAGE_NAMES[code] for code in held if code in _LANGUAGE_NAMES]
    nearest = _nearest(words, held)
    return f"{head}; the nearest: {nearest}" if nearest else head


def _nearest(words: list[str], held: list[str]) -> str | None:
    """The value of ``held`` closest to ``words`` or to a tail of them (the words of
    an unknown value run before its tag may be text: ``cancer reveiw[pt]``)."""
    best: tuple[float, str] | None = None
    for start in range(len(words)):
        tail = " ".join(words[start:])
        for match in get_close_matches(tail, held, n=1, cutoff=0.6):
            ratio = SequenceMatcher(None, tail, match).ratio()
            if best is None or ratio > best[0]:
                best = ratio, match
    return best[1] if best is not None else None
