"""The word-cached biomedical termizer emits exactly the analyzer's terms and positions."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit.analysis.analyzer import COMPOUND, text_analyzer
from searchkit.analysis.termizer import BiomedTermizer
from searchkit.readers import iter_files, read_file
from searchkit.records import Record

from .conftest import SAMPLE_DIR

ANALYZER = text_analyzer()


def _expected(text: str) -> list[tuple[bytes, list[int]]]:
    positions: dict[bytes, list[int]] = {}
    for token in ANALYZER(text, positions=True, mode="index"):
        positions.setdefault(token.text.encode("utf-8"), []).append(token.pos)
    return list(positions.items())


@cache
def _sample_texts() -> tuple[str, ...]:
    """Every distinct title and abstract of data/ (records that come twice, once)."""
    texts: dict[str, None] = {}
    for path in iter_files([SAMPLE_DIR]):
        for item in read_file(path):
            if isinstance(item, Record):
                texts.update((t, None) for t in (item.title, item.abstract) if t)
    return tuple(texts)


@pytest.mark.slow
def test_same_terms_as_the_analyzer_on_the_sample() -> None:
    termize = BiomedTermizer()
    texts = _sample_texts()
    assert len(texts) > 100
    expected = [_expected(text) for text in texts]
    for _ in range(2):  # the second pass reads every word from the cache
        for text, terms in zip(texts, expected, strict=True):
            assert list(termize(text).items()) == terms, text


@pytest.mark.parametrize(
    "text",
    [
        "PD-L1, PDL1 and PD L1 in CD8+ T cells of the MHC class I pathway",
        "MHC class class I; MHC Class II; HLA class; IL 6 IL 6",
        "A-A a-b-c-d-e-f-g PD-L1's CD4+'s IL-6+ the-of 1.5 1,000 x1.5y",
        "TNF-\u03b1 and \u03b2-catenin; HLA-A*02:01 carriers with SARS-CoV-2 (COVID-19)",
        "Alzheimer's Alzheimer\u2019s naïve ÅNGSTRÖM the of and",
        "CD, 108 and (IL) 36, DL(CO)/V(A), MHC, class I; MHC class, I; AIM: A; F4/80 PU.1",
        "CDK1/2 and CDK12, CXCL1/2 CXCL12, C57BL/6, T1/T2, ERK1/2/5, Smad2/3-dependent",
    ],
)
def test_same_terms_as_the_analyzer_on_codes(text: str) -> None:
    assert list(BiomedTermizer()(text).items()) == _expected(text)


PIECES = [
    *("PD", "L1", "MHC", "class", "Class", "I", "II", "IL", "6", "CD8+", "the", "of"),
    *("-", "*", ":", " ", " ", "'s", "\u03b1", "1.5", "1,000", "T", "cell", "A", "x"),
    *(", ", ") ", ")", "(", "/", ". ", ")/", "#"),
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25))
@pytest.mark.slow
def test_same_terms_as_the_analyzer_on_any_code_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert list(BiomedTermizer()(text).items()) == _expected(text)


# The compound pattern as first written, a character at a time; the shipped one is
# written as runs of word characters joined by separators (faster to match).
CHARACTER_AT_A_TIME = re.compile(
    r"[^\W_](?:[^\W_]|[-\u2010\u2011\u2012\u2013*:](?=[^\W_])|(?<=\d)[.,](?=\d))*"
    r"(?P<tail>\+*(?:['\u2019]s\b)?)"
)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, int]]:
    return [(*m.span(), m.start("tail")) for m in pattern.finditer(text)]


@pytest.mark.slow
def test_compound_pattern_matches_as_written_a_character_at_a_time() -> None:
    texts = _sample_texts()
    assert sum(len(_spans(COMPOUND, t)) for t in texts) > 100_000
    for text in texts:
        assert _spans(COMPOUND, text) == _spans(CHARACTER_AT_A_TIME, text)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=list("aZ9_-*:.,+'\u2019s \u2010\u2013\u03b1\u00e90\n"), max_size=30))
def test_compound_pattern_matches_as_written_a_character_at_a_time_on_any_text(
    text: str,
) -> None:
    assert _spans(COMPOUND, text) == _spans(CHARACTER_AT_A_TIME, text)
