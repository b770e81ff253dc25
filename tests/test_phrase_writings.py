"""A quoted phrase finds its words however the records write a code in them: typed
with the code run together (``"IL10 signaling"``, ``"PDL1 expression"``) it also
finds the records that hyphenate it (``IL-10 signaling``), as the hyphenated phrase
already found the run-together one; a code typed with its Greek letter as a word of
its own (``"NF-kappa B activation"``, as MeSH writes it) also finds ``NF-κB
activation``, and the other way round. The words of the phrase still have to stand
side by side: nothing found is a record holding the code and the next word apart.
Checked on data/ through the CLI in-process and as a real process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.analysis.analyzer import text_analyzer
from searchkit.analysis.code_writings import MAX_WRITINGS, writings

from .cli_helpers import explained, pmids, process, run

# (typed one way, typed another way): the same phrase, so the same records.
SAME = [
    ('"IL10 signaling"', '"IL-10 signaling"'),
    ('"IL10 receptor"', '"IL-10 receptor"'),
    ('"IL6 levels"', '"IL-6 levels"'),
    ('"PDL1 expression"', '"PD-L1 expression"'),
    ('"NF-kappa B activation"', '"NF-κB activation"'),
    ('"NFkB activation"', '"NF-κB activation"'),
    ('"IL-1 beta production"', '"IL-1β production"'),
    ('"TNF alpha production"', '"TNF-α production"'),
]

# The phrase as the records may write it (title, abstract, keywords, MeSH headings):
# the code in any of its writings (or its long form, "Interleukin-10 (IL10) signaling",
# "interleukin (IL)-10 signaling"), then the next
# word as the stemmer reads it ("NF-κB activity" is "NF-κB activation").
WRITTEN = {
    '"IL10 signaling"': r"\bIL\)?[- ]?10\)?[- ]signal",
    '"IL-10 signaling"': r"\bIL\)?[- ]?10\)?[- ]signal",
    '"PDL1 expression"': r"\bPD[- ]?L1\)?[- ]express",
    '"NF-kappa B activation"': r"\bNF[- ]?(kappa|κ|k) ?B\)?[- ]activ",
    '"IL-1 beta production"': r"\bIL[- ]?1 ?(beta|β|b)\)?[- ]produc",
}


def _text(index: SearchIndex, pmid: str) -> str:
    record = index.get(pmid)
    headings = [heading.name for heading in record.mesh]
    return " | ".join([record.title or "", record.abstract or "", *record.keywords, *headings])


@pytest.mark.parametrize(("one", "other"), SAME)
def test_either_writing_finds_the_same_records(
    sample_index_dir: Path, one: str, other: str
) -> None:
    assert pmids(sample_index_dir, one) == pmids(sample_index_dir, other)


@pytest.mark.parametrize(("one", "other"), SAME[:5])
def test_the_records_written_the_other_way_are_found(
    sample_index_dir: Path, one: str, other: str
) -> None:
    # data/ writes each of these both ways or only the other way: before, the phrase
    # typed one way missed the records written the other.
    assert pmids(sample_index_dir, other) - pmids(sample_index_dir, one.replace('"', "")) == set()
    assert pmids(sample_index_dir, one)


@pytest.mark.parametrize(("query", "pattern"), sorted(WRITTEN.items()))
def test_every_record_found_holds_the_phrase(
    sample_index: SearchIndex, sample_index_dir: Path, query: str, pattern: str
) -> None:
    found = pmids(sample_index_dir, query)
    assert found
    written = re.compile(pattern, re.IGNORECASE)
    for pmid in found:
        assert written.search(_text(sample_index, pmid)), (query, pmid)


@pytest.mark.parametrize(
    ("query", "pattern"), [('"NF-kappa B"', r"\bNF-kappa B\b"), ('"TNF alpha"', r"\bTNF alpha\b")]
)
def test_a_spaced_greek_phrase_still_finds_it_written_so(
    sample_index: SearchIndex, sample_index_dir: Path, query: str, pattern: str
) -> None:
    written = re.compile(pattern)
    spaced = {
        pmid
        for pmid in pmids(sample_index_dir, query.strip('"'))
        if written.search(_text(sample_index, pmid))
    }
    assert spaced and spaced <= pmids(sample_index_dir, query)
    assert pmids(sample_index_dir, '"IL-1 beta"') >= pmids(sample_index_dir, '"IL-1β"')


def test_words_apart_do_not_match(sample_index_dir: Path) -> None:
    # "IL10 deficient" in quotes: not the records with IL-10 somewhere and deficient
    # elsewhere, which the words unquoted find.
    quoted = pmids(sample_index_dir, '"IL10 deficient"')
    assert quoted < pmids(sample_index_dir, "IL10 AND deficient")
    assert pmids(sample_index_dir, '"IL-10-deficient"') <= quoted


def test_explain_shows_the_other_writings(sample_index_dir: Path) -> None:
    # IL-10 written hyphenated: its joined term, then its last piece
    assert "(il10|il10 10) signal" in explained(sample_index_dir, '"IL10 signaling"')


def test_the_hit_highlights_the_code_as_written(sample_index_dir: Path) -> None:
    shown = run(sample_index_dir, "search", '"NF-kappa B activation"', "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert "NF-κB" in shown.stdout


def test_as_a_real_process(sample_index_dir: Path) -> None:
    done = process(sample_index_dir, "search", '"PDL1 expression"', "--format", "pmid")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == pmids(sample_index_dir, '"PD-L1 expression"')
    assert done.stdout.split()


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("il10", {("il", "10")}),
        ("pdl1", {("pd", "l1")}),
        ("nfkappab", {("nf", "kappab"), ("nf", "kappa", "b"), ("nf", "kb")}),
        ("tnfalpha", {("tnf", "alpha"), ("tnf", "a")}),
        ("il1beta", {("il", "1beta"), ("il", "1", "beta"), ("il1", "beta")}),
        ("tgfbeta1", {("tgf", "beta1"), ("tgf", "beta", "1")}),
    ],
)
def test_a_codes_writings_are_what_the_index_holds_for_it(
    term: str, expected: set[tuple[str, ...]]
) -> None:
    found = writings(text_analyzer(), term)
    assert expected <= {w.pieces for w in found}
    assert len(found) <= MAX_WRITINGS
    for pieces, _ in found:  # each, written hyphenated, is the same code to the analyzer
        tokens = [(t.text, t.kind) for t in text_analyzer()("-".join(pieces), mode="index")]
        assert (term, "cat") in tokens


@pytest.mark.parametrize(
    ("term", "apart", "joined"),
    [
        ("tnfalpha", ("tnf", "alpha"), ("tnf", "a")),  # "TNF alpha"; "TNF-a"
        ("nfkappab", ("nf", "kappa", "b"), ()),  # "NF-kappa B"
        ("il10", (), ("il", "10")),  # "IL 10" is joined like "IL-10"
        ("pdl1", (), ("pd", "l1")),
    ],
)
def test_pieces_written_apart_are_told_from_those_the_index_joins(
    term: str, apart: tuple[str, ...], joined: tuple[str, ...]
) -> None:
    found = {w.pieces: w.apart for w in writings(text_analyzer(), term)}
    assert not apart or found[apart] is True
    assert not joined or found[joined] is False


@pytest.mark.parametrize("term", ["signal", "immun", "2019", "activ", "metabol", "diabet"])
def test_a_word_that_is_no_code_has_no_other_writing(term: str) -> None:
    assert writings(text_analyzer(), term) == ()


def test_a_term_with_too_many_cuts_is_left_alone() -> None:
    assert writings(text_analyzer(), "a1b2c3d4") == ()
