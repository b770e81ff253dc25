"""Keywords, MeSH words and affiliations are lists: a phrase or a proximity matches
inside one entry, never across two. The phrase "receptor immunohistochemistry" matched
a record whose keywords are "Androgen receptor; Immunohistochemistry" (the entries were
indexed as one text), as "usa environmental"[ad] matched two affiliations, one ending
in "USA", the next beginning "Environmental"; PubMed finds neither.

Real records of data/, searched through the CLI."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from searchkit.records import Record

from .cli_helpers import run
from .test_fastindex import sample_records

_WORD = re.compile(r"[A-Za-z]{4,}")
#: Each list and the tag searching it alone.
TAGS = {"keywords": "ot", "affiliations": "ad"}


def _entries(record: Record, field: str) -> list[str]:
    if field == "keywords":
        return list(record.keywords)
    return list(dict.fromkeys(a for author in record.authors for a in author.affiliations))


def _both(first: str, second: str, entry: str) -> bool:
    """Whether ``entry`` holds both words, in any inflection (a phrase's words are
    stemmed) and any order."""
    return all(re.search(rf"\b{word[:4]}", entry, re.IGNORECASE) for word in (first, second))


def _across(field: str, limit: int = 12) -> list[tuple[str, str]]:
    """Phrases of the last word of an entry and the first of the next, whose two words
    no one entry of the record's list holds, with the PMID of the record."""
    found: dict[str, str] = {}
    for record in sample_records():
        entries = _entries(record, field)
        for before, after in pairwise(entries):
            first, second = _WORD.findall(before)[-1:], _WORD.findall(after)[:1]
            if not first or not second:
                continue
            if any(_both(first[0], second[0], entry) for entry in entries):
                continue
            found.setdefault(f"{first[0]} {second[0]}".lower(), record.pmid)
    return sorted(found.items())[:limit]


def _pmids(index: Path, query: str) -> set[str]:
    result = run(index, "search", query, "-f", "pmid", "-n", "all")
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("field", sorted(TAGS))
def test_a_phrase_never_spans_two_entries_of_a_list(sample_index_dir: Path, field: str) -> None:
    phrases = _across(field)
    assert len(phrases) >= 10, phrases
    tag = TAGS[field]
    for phrase, pmid in phrases:
        assert pmid not in _pmids(sample_index_dir, f'"{phrase}"[{tag}]'), phrase
        # Nor within a few words: entries are further apart than a proximity reaches.
        assert pmid not in _pmids(sample_index_dir, f'"{phrase}"~3[{tag}]'), phrase
        # Each word is there alone, and so is the phrase of an entry's own words.
        first, second = phrase.split()
        assert pmid in _pmids(sample_index_dir, f"{first}[{tag}] AND {second}[{tag}]"), phrase


def test_a_phrase_inside_one_entry_still_matches(sample_index_dir: Path) -> None:
    checked = 0
    for record in sample_records():
        for entry in record.keywords:
            words = entry.split()[:2]
            if len(words) == 2 and all(_WORD.fullmatch(word) for word in words):
                phrase = " ".join(words)
                assert record.pmid in _pmids(sample_index_dir, f'"{phrase}"[ot]'), phrase
                checked += 1
                break
        if checked >= 10:
            break
    assert checked >= 10


def test_free_text_phrases_do_not_join_keywords(sample_index_dir: Path) -> None:
    """Free text searches the keywords and MeSH words too: the record whose keywords
    are "Androgen receptor; Immunohistochemistry" is not a match of the phrase."""
    assert "30217568" in _pmids(sample_index_dir, '"androgen receptor"')
    assert "30217568" not in _pmids(sample_index_dir, '"receptor immunohistochemistry"')
