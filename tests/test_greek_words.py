"""A code and its Greek letter typed as two words ("NF-kappa B", as the MeSH heading
writes it, "TNF alpha", "IL-1 beta") are one query concept that also matches the two
written together (``nfkappab``, ``tnfalpha``), so the search finds the records that
write "NF-κB" or "TNF-α", not only those having both words somewhere. The index is not
changed: the query side joins them. A quoted phrase is still a phrase (the code
written together, or its two words side by side), and no record the two words found
before is lost. At the query-building level, then on
data/ through the CLI in-process and as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.query import Query

from searchkit.analysis.analyzer import text_analyzer
from searchkit.engine.nodes import BestMatch
from searchkit.index.schema import build_schema
from searchkit.query.free_text import free_text_query

from .cli_helpers import count, explained, pmids, process

# (typed as two words, written together)
PAIRS = [
    ("NF-kappa B", "NF-kappaB"),
    ("TNF alpha", "TNFalpha"),
    ("IL-1 beta", "IL-1beta"),
    ("IFN gamma", "IFNgamma"),
    ("TGF beta", "TGFbeta"),
    ("PPAR gamma", "PPARgamma"),
    ("HIF-1 alpha", "HIF-1alpha"),
    ("TNF α", "TNFα"),
    ("NF-κ B", "NF-κB"),
]


def _joined_term(together: str) -> str:
    """The term the analyzer gives the code written together: a compound's joined
    term, else the word's."""
    # (The analyzer yields one token object, changed in place: read it as it comes.)
    tokens = [(t.text, t.kind) for t in text_analyzer()(together, mode="query")]
    cats = [text for text, kind in tokens if kind == "cat"]
    return cats[0] if cats else tokens[0][0]


def _terms(q: Query) -> set[str]:
    return {text.decode() if isinstance(text, bytes) else text for _, text in q.iter_all_terms()}


@pytest.mark.parametrize(("spaced", "together"), PAIRS)
def test_the_two_words_are_one_concept_with_the_joined_term(spaced: str, together: str) -> None:
    q = free_text_query(build_schema(), spaced)
    assert isinstance(q, BestMatch)
    assert len(q.concepts()) == 1 and len(q.required) == 1
    joined = _joined_term(together)
    assert joined in _terms(q.concepts()[0])
    assert joined in _terms(q.required[0])
    # and the two words as written are still searched
    for word in spaced.split():
        assert _joined_term(word) in _terms(q.required[0])


@pytest.mark.parametrize(
    "text",
    ["TNF, alpha", "cells alpha", "beta-catenin alpha", "TNF and alpha", "IL-6 B", "TNF receptor"],
)
def test_other_neighbours_stay_separate_concepts(text: str) -> None:
    q = free_text_query(build_schema(), text)
    assert isinstance(q, BestMatch)
    assert len(q.concepts()) == 2


@pytest.mark.parametrize(("spaced", "together"), PAIRS[:7])
def test_the_spaced_query_finds_the_joined_ones_records_and_loses_none(
    sample_index_dir: Path, spaced: str, together: str
) -> None:
    new = pmids(sample_index_dir, spaced)
    assert pmids(sample_index_dir, together) <= new
    # What the two words found before: the records with both ("TNF AND alpha" keeps
    # them two free-text parts, which are never joined).
    head, letter = spaced.split()
    assert pmids(sample_index_dir, f"{head} AND {letter}") <= new


@pytest.mark.parametrize(("spaced", "together"), [PAIRS[0], PAIRS[1], PAIRS[3]])
@pytest.mark.parametrize("tag", ["tiab", "tw", "all"])
def test_with_a_text_tag_too(sample_index_dir: Path, spaced: str, together: str, tag: str) -> None:
    new = pmids(sample_index_dir, f"{spaced}[{tag}]")
    assert pmids(sample_index_dir, f"{together}[{tag}]") <= new
    head, letter = spaced.split()
    assert pmids(sample_index_dir, f"{head}[{tag}] AND {letter}[{tag}]") <= new
    assert count(sample_index_dir, f"{spaced} cells[{tag}]") > count(
        sample_index_dir, f"{head}[{tag}] AND {letter}[{tag}] AND cells[{tag}]"
    )


def test_nf_kappa_b_finds_most_nf_kappab_records(sample_index_dir: Path) -> None:
    # data/ writes NF-κB in some 80 records; "NF-kappa B" found 4 before.
    assert count(sample_index_dir, "NF-kappa B") >= count(sample_index_dir, "NF-kappaB") > 50


def test_a_quoted_phrase_is_the_code_however_written(sample_index_dir: Path) -> None:
    # In quotes the two words are still one phrase: the code written together, or the
    # two side by side (tests/test_phrase_writings.py), never apart.
    quoted = pmids(sample_index_dir, '"TNF alpha"')
    assert pmids(sample_index_dir, '"TNF-α"') <= quoted
    assert quoted <= pmids(sample_index_dir, "TNF AND alpha") | pmids(sample_index_dir, "TNFα")
    assert quoted < pmids(sample_index_dir, "TNF alpha")


def test_explain_shows_the_joined_term(sample_index_dir: Path) -> None:
    assert "nfkappab" in explained(sample_index_dir, "NF-kappa B")


def test_a_real_process_joins_them(sample_index_dir: Path) -> None:
    done = process(sample_index_dir, "search", "TNF alpha", "--format", "pmid")
    assert done.returncode == 0, done.stderr
    assert pmids(sample_index_dir, "TNFα") <= set(done.stdout.split())


# Typed with every piece a word of its own (as PubMed users type codes): the spaced
# words are one concept, the code written together.
SPACED = [
    ("NF kappa B", "NF-κB", "NF AND kappa AND B"),
    ("IL 1 beta", "IL-1β", "IL 1 AND beta"),  # "IL 1" is a code already: il1
    ("HIF 1 alpha", "HIF-1α", "HIF 1 AND alpha"),
    ("TGF beta 1", "TGF-β1", "TGF AND beta AND 1"),
    ("NF kB", "NF-κB", "NF AND kB"),
]


@pytest.mark.parametrize(("spaced", "together", "apart"), SPACED)
def test_a_code_typed_in_spaced_pieces_is_one_concept(
    spaced: str, together: str, apart: str
) -> None:
    q = free_text_query(build_schema(), spaced)
    assert isinstance(q, BestMatch)
    assert len(q.concepts()) == 1
    assert _joined_term(together) in _terms(q.concepts()[0])


@pytest.mark.parametrize(("spaced", "together", "apart"), SPACED)
def test_a_code_typed_in_spaced_pieces_finds_it_written_together(
    sample_index_dir: Path, spaced: str, together: str, apart: str
) -> None:
    new = pmids(sample_index_dir, spaced)
    assert pmids(sample_index_dir, together) <= new
    # and loses none of the records it found before, with every piece somewhere
    assert pmids(sample_index_dir, apart) <= new
    quoted = pmids(sample_index_dir, f'"{spaced}"')
    assert pmids(sample_index_dir, f'"{together}"') <= quoted


@pytest.mark.parametrize(
    ("text", "unjoined"),
    [("type 2 diabetes", "type2diabet"), ("TNF a patients", "tnfalpha"), ("IL 6 B", "il6b")],
)
def test_spaced_words_that_spell_no_greek_code_stay_apart(text: str, unjoined: str) -> None:
    # No Greek letter's name, or a stop word ("a") in its place.
    q = free_text_query(build_schema(), text)
    assert unjoined not in _terms(q)
