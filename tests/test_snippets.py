"""Snippets: the window with the most matched terms, offsets that point at them."""

from __future__ import annotations

from searchkit import SearchIndex, search
from searchkit.index.schema import build_schema
from searchkit.searching.snippets import ELLIPSIS, SNIPPET_CHARS, passage, unit_terms

TERMS = unit_terms(build_schema()["abstract"].analyzer)
FILLER = "Nothing relevant is said here at all. " * 12


def test_window_with_most_distinct_terms_wins() -> None:
    text = (
        "Escape is mentioned early. "
        + FILLER
        + "Tumour immune escape depends on PD-L1 expression. "
        + FILLER
    )
    found = passage(text, frozenset({"immun", "escap", "pdl1"}), TERMS)
    assert found is not None
    snippet, spans = found
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert len(snippet) <= SNIPPET_CHARS + 4
    assert [snippet[s:e] for s, e in spans] == ["immune", "escape", "PD-L1"]


def test_compounds_and_greek_letters_match_their_index_terms() -> None:
    text = "Levels of TNF-α and β-catenin rose in CD8+ cells."
    found = passage(text, frozenset({"tnfalpha", "betacatenin", "cd8"}), TERMS)
    assert found is not None
    snippet, spans = found
    assert snippet == text  # short: whole, no ellipsis
    assert [snippet[s:e] for s, e in spans] == ["TNF-α", "β-catenin", "CD8+"]


def test_no_match_gives_none() -> None:
    assert passage("Nothing here.", frozenset({"cancer"}), TERMS) is None


def test_search_snippets_highlight_query_words_in_the_sample(sample_index: SearchIndex) -> None:
    for hit in search(sample_index, "immune escape MHC", limit=5).hits:
        assert hit.snippet
        for start, end in hit.highlights:
            assert hit.snippet[start:end].strip()
            assert not hit.snippet[start:end].startswith(" ")
