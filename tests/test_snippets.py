"""Snippets: the window with the most matched terms, offsets that point at them."""

from __future__ import annotations

from pathlib import Path

from searchkit import SearchIndex, search
from searchkit.analysis.analyzer import COMPOUND, term_head, term_heads, text_analyzer, word_terms
from searchkit.index.schema import build_schema
from searchkit.readers import iter_files, read_file
from searchkit.searching.snippets import ELLIPSIS, SNIPPET_CHARS, Phrases, passage, unit_terms

ROOT = Path(__file__).resolve().parent.parent

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


def _phrase(*words: str, slop: int = 0) -> tuple[tuple[frozenset[str], ...], int]:
    return tuple(frozenset((w,)) for w in words), len(words) + slop


def test_terms_searched_only_in_phrases_mark_only_their_occurrences() -> None:
    """A term the query searches only inside a phrase marks the units of the phrase's
    shortest occurrences, in order: ``IL 6`` and ``IL-6`` for the parts of ``IL-6``, not
    the ``IL`` of ``IL-17A`` or ``IL-23`` before it; *major histocompatibility complex*,
    not "complex traits"; never words in the wrong order. Terms searched alone mark
    every unit that holds them."""
    text = (
        "IL-17A, IL-23 and IL-6 rose; IL 6 fell. The major histocompatibility complex "
        "shapes complex traits; escape immune cells, and immune escape."
    )
    words = frozenset(
        {"il6", "il", "6", "major", "histocompat", "complex", "immun", "escap", "cell"}
    )
    phrases = Phrases(
        (_phrase("il", "6", slop=1), _phrase("major", "histocompat", "complex", slop=2),
         _phrase("immun", "escap")),
        frozenset({"il", "6", "major", "histocompat", "complex", "immun", "escap"}),
    )  # fmt: skip
    found = passage(text, words, TERMS, phrases)
    assert found is not None
    snippet, spans = found
    assert [snippet[s:e] for s, e in spans] == [
        "IL-6", "IL", "6", "major", "histocompatibility", "complex", "cells", "immune",
        "escape",
    ]  # fmt: skip
    # A phrase without slots (none is made) occurs nowhere.
    assert passage("IL 6", frozenset({"il", "6"}), TERMS, Phrases((((), 0),), phrases.only)) is None
    # Without the phrases, every unit holding a matched term is marked.
    everything = passage(text, words, TERMS)
    assert everything is not None and len(everything[1]) == 14


def _analysed(unit: str) -> frozenset[str]:
    tokens = text_analyzer()(unit, mode="query", removestops=False)
    return frozenset(t.text for t in tokens)


def test_a_single_word_has_the_terms_the_analyzer_gives_it() -> None:
    """Every unit of the bundled records' titles and abstracts: a single word gets the
    analyzer's terms without its pipeline (stop words kept whole, folds, stems, the
    ``+`` and ``'s`` dropped); a compound is left to the analyzer."""
    units: set[str] = set()
    for path in iter_files([ROOT / "data", ROOT / "tests" / "data"]):
        try:
            for record in read_file(path):
                for text in (record.title, record.abstract):
                    units.update(m.group() for m in COMPOUND.finditer(text or ""))
        except Exception:  # a deliberately damaged test file
            continue
    units |= {"the", "The", "CD8+", "Alzheimer's", "Alzheimer’s", "β", "Müller", "IL6",
              "1.5", "1,000", "tumours", "PD-L1", "HLA-A*02:01", "Th17", "was", "Oedema",
              "dying", "lying", "skies", "yields", "Yttrium", "gaol", "ies", "ties"}  # fmt: skip
    words = {u: word_terms(u) for u in units}
    single = [u for u, terms in words.items() if terms is not None]
    assert len(single) > 0.6 * len(units) > 10_000
    assert all(words[u] == _analysed(u) for u in single)
    assert {u for u, terms in words.items() if terms is None} >= {"PD-L1", "HLA-A*02:01", "1.5"}
    assert words["The"] == frozenset({"the"}) and words["Alzheimer's"] == frozenset({"alzheim"})
    # What a unit's terms can begin with, found without analysing it: snippets
    # analyse only the units whose terms can begin as a matched term does.
    for unit in units:
        heads = term_heads(unit)
        assert all(term_head(term) in heads for term in _analysed(unit)), unit
    assert {"oe", "ed"} <= term_heads("Oedema") and {"dy", "di"} <= term_heads("dying")
    assert {"tn", "al"} <= term_heads("TNF-α") and "cd" in term_heads("CD8+")
    assert "tc" in term_heads("T-cells") and "15" in term_heads("1.5")
    assert "ai" in term_heads("aero-plane") and "o" in term_heads("OED")
    assert term_head("1.5") == "15" and term_head("pdl1") == "pd"
    # Two characters: most units none of whose terms can begin as "cancer" does.
    assert "ca" not in term_heads("cells") and "ca" in term_heads("Cancers")


def test_no_match_gives_none() -> None:
    assert passage("Nothing here.", frozenset({"cancer"}), TERMS) is None


def test_search_snippets_highlight_query_words_in_the_sample(sample_index: SearchIndex) -> None:
    for hit in search(sample_index, "immune escape MHC", limit=5).hits:
        assert hit.snippet
        for start, end in hit.highlights:
            assert hit.snippet[start:end].strip()
            assert not hit.snippet[start:end].startswith(" ")


def test_words_left_unstemmed_change_no_snippet(sample_index: SearchIndex) -> None:
    """The snippets of the sample's hits for searches of many first letters (stop
    words, Greek, British spellings, codes, hyphenated compounds) are those of an
    analysis that stems every word: the words skipped could not have matched."""
    from searchkit.searching.snippets import UnitTerms

    everything = UnitTerms(text_analyzer())
    everything.words = False  # every unit through the analyzer, none skipped
    queries = [
        "immune escape MHC", "oedema heart failure", "TNF-α signalling", "the cells",
        "yield of dying cells", "PD-L1 blockade in tumours", "SARS-CoV-2 vaccine",
        "quality of life", "randomised trial", "CD8+ T cells", "zinc", "X-ray imaging",
    ]  # fmt: skip
    shown = 0
    for query in queries:
        words = _analysed(query)  # stop words too: "the", "of"
        for hit in search(sample_index, query, limit=20).hits:
            for text in (hit.record.abstract, hit.record.title):
                flat = " ".join((text or "").split())
                found = passage(flat, words, TERMS)
                assert found == passage(flat, words, everything)
                shown += found is not None
    assert shown > 300


def _query_words_in(text: str, words: frozenset[str]) -> list[tuple[int, int]]:
    """The offsets of the units of ``text`` with a term among ``words``."""
    units = COMPOUND.finditer(text)
    return [(m.start(), m.end()) for m in units if not TERMS(m.group()).isdisjoint(words)]


SNIPPET_QUERIES = ["immune escape MHC", "folate cancer", "dosage folic acid", "stem cell niche"]


def test_every_query_word_a_snippet_shows_is_highlighted(sample_index: SearchIndex) -> None:
    """Whichever field holds the words: a hit whose abstract holds a query word gets a
    passage of its abstract with every unit of a query word in it highlighted. (The
    terms were once taken from Whoosh's ``existing_terms``, which keeps only the first
    field it meets: a hit whose title held none of the words had no highlights, the
    others only those of their titles.)"""
    checked = 0
    for query in SNIPPET_QUERIES:
        words = _analysed(query)
        for hit in search(sample_index, query, limit=10).hits:
            abstract = " ".join((hit.record.abstract or "").split())
            if not _query_words_in(abstract, words):
                continue
            checked += 1
            body = hit.snippet.removeprefix(ELLIPSIS + " ")
            assert body.removesuffix(" " + ELLIPSIS).strip() in abstract, (query, hit.pmid)
            # Every query word shown is highlighted (and the words the query's acronyms
            # stand for: "major histocompatibility complex" for MHC), each a whole unit.
            assert set(_query_words_in(hit.snippet, words)) <= set(hit.highlights), hit.pmid
            units = {(m.start(), m.end()) for m in COMPOUND.finditer(hit.snippet)}
            assert set(hit.highlights) <= units, (query, hit.pmid)
    assert checked >= 30


def test_whitespace_is_flattened_as_the_regular_expression_did() -> None:
    """Every character ``\\s`` takes for whitespace, and only those, is a word gap."""
    import re

    from searchkit.searching.snippets import _flat

    spaces = "".join(c for c in map(chr, range(0x110000)) if re.fullmatch(r"\s", c))
    assert len(spaces) > 20  # Unicode's, not only ASCII's
    text = f"{spaces}PD-L1{spaces}\u00a0and\tCD8+\n\n T cells{spaces}x\u200by"
    assert _flat(text) == re.sub(r"\s+", " ", text).strip() == "PD-L1 and CD8+ T cells x\u200by"
