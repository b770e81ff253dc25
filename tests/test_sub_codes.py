"""A code written inside a longer compound is found by its own name: ``IL10`` finds
"IL-10-deficient mice", ``PD1`` "anti-PD-1 antibodies", ``TNFα`` "TNF-α-treated
cells", ``Bcl2`` "Bcl-2-associated", as the hyphenated form of each query always did
(its parts side by side). The index gets the code's joined term at its first piece's
position; queries are analysed as before. On data/, through the CLI in-process and as a
real process; the fast indexing path emits the same terms as the analyzer; an index
made before is refused until rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit.analysis.analyzer import text_analyzer
from searchkit.analysis.termizer import BiomedTermizer

from .cli_helpers import count, explained, pmids, process, refused_until_rebuilt


def _index_tokens(text: str) -> list[tuple[str, str, int, str]]:
    return [
        (t.text, t.kind, t.pos, text[t.startchar : t.endchar])
        for t in text_analyzer()(text, positions=True, chars=True, mode="index")
    ]


@pytest.mark.parametrize(
    ("text", "term", "pos", "written"),
    [("IL-10-producing cells", "il10", 0, "IL-10"), ("anti-PD-1 therapy", "pd1", 1, "PD-1"),
     ("anti-PD-L1-treated", "pdl1", 1, "PD-L1"), ("COVID-19-related deaths", "covid19", 0,
     "COVID-19"), ("Bcl-2-associated X", "bcl2", 0, "Bcl-2"), ("MHC-II-restricted", "mhcii",
     0, "MHC-II"), ("IL-1β-induced", "il1beta", 0, "IL-1β"), ("IL-2-IL-15 fusion", "il15",
     2, "IL-15")],
)  # fmt: skip
def test_a_code_inside_a_compound_is_indexed_under_its_joined_name(
    text: str, term: str, pos: int, written: str
) -> None:
    assert (term, "sub", pos, written) in _index_tokens(text)


def test_a_greek_letter_ends_a_code_and_is_stemmed_as_the_query_word_is() -> None:
    [query_term] = [t.text for t in text_analyzer()("TNFα", mode="query")]
    assert (query_term, "sub", 0, "TNF-α") in _index_tokens("TNF-α-treated mice")


@pytest.mark.parametrize(
    "text",
    ["IL-10 levels", "N-2-hydroxyethyl", "non-A-non-B hepatitis", "3-day-old mice",
     "anti-CD20-antibody", "18-65-year-old"],
)  # fmt: skip
def test_no_code_is_made_of_two_pieces_alone_or_of_pieces_that_are_not_one(text: str) -> None:
    assert not [t for t in _index_tokens(text) if t[1] == "sub"]


def test_queries_are_analysed_without_the_codes_inside_compounds() -> None:
    kinds = [t.kind for t in text_analyzer()("IL-10-producing", mode="query")]
    assert "sub" not in kinds


@pytest.mark.parametrize(
    "text",
    [
        "IL-10-deficient and IL10 mice",
        "PD1-anti-PD-1-x",
        "TNF-α-treated IL-1β-induced",
        "MHC class II-restricted anti-PD-L1-treated PD L1",
    ],
)
def test_the_fast_indexing_path_emits_the_analyzers_terms(text: str) -> None:
    expected: dict[bytes, list[int]] = {}
    for t in text_analyzer()(text, positions=True, mode="index"):
        expected.setdefault(t.text.encode(), []).append(t.pos)
    assert BiomedTermizer()(text) == expected


def test_il10_finds_what_il_10_finds(sample_index_dir: Path) -> None:
    # 30717413 writes it only as "IL-10-deficient" (before: found by IL-10 alone).
    assert "30717413" in pmids(sample_index_dir, "IL10")
    assert pmids(sample_index_dir, "IL10") == pmids(sample_index_dir, "IL-10")


@pytest.mark.parametrize(
    ("joined", "only_inside_compounds"),
    [("Bcl2", {"29038347", "29684847"}),  # "Bcl-2-associated", "Bcl-2-like"
     ("TNFα", {"24583476", "27846191", "28513424", "30664783", "30670762"}),  # "TNF-α-"
     ("IL17", {"27663185", "30146816"})],  # "IL-23-IL-17", "IL-17-mediated"
)  # fmt: skip
def test_the_joined_name_finds_the_records_that_write_it_inside_a_compound(
    sample_index_dir: Path, joined: str, only_inside_compounds: set[str]
) -> None:
    assert only_inside_compounds <= pmids(sample_index_dir, joined)


def test_pd1_finds_the_anti_pd_1_articles_as_a_real_process(sample_index_dir: Path) -> None:
    found = process(sample_index_dir, "search", "PD1", "--format", "pmid", "--limit", "all")
    assert found.returncode == 0, found.stderr
    # "anti-PD-1 monoclonal antibodies" is this record's only way of writing PD-1 joined.
    assert "30816345" in found.stdout.split()
    assert count(sample_index_dir, "PD1") == count(sample_index_dir, "PD-1")


def test_an_index_made_before_codes_inside_compounds_is_refused(tmp_path: Path) -> None:
    record = {"pmid": "1", "title": "IL-10-deficient mice", "year": 2020}
    refused_until_rebuilt(tmp_path, record, "sub_codes", "IL10")


def test_a_short_form_written_joined_is_expanded_as_the_hyphenated_one() -> None:
    from searchkit.analysis.acronyms import AcronymTable

    table = AcronymTable()
    table.add([("PD-1", "programmed death 1"), ("IL-1β", "interleukin 1 beta")])
    assert table.long_forms("PD1") == [("programmed death 1", 1)]
    assert table.long_forms("il1β") == [("interleukin 1 beta", 1)]


@pytest.mark.parametrize(
    ("joined", "hyphenated", "long_form"),
    [("PD1", "PD-1", '"program death 1"'), ("IL17", "IL-17", '"interleukin 17"')],
)
def test_the_joined_name_searches_the_long_forms_of_the_hyphenated_one(
    sample_index_dir: Path, joined: str, hyphenated: str, long_form: str
) -> None:
    assert pmids(sample_index_dir, joined) == pmids(sample_index_dir, hyphenated)
    assert long_form in explained(sample_index_dir, joined)


def test_a_quoted_compound_is_matched_by_its_parts_not_by_the_codes_inside_it() -> None:
    from searchkit.engine.phrases import analyze

    slots = analyze(text_analyzer(), "IL-10-deficient mice")
    terms = {term for slot in slots for form, _ in slot.forms for term, _ in form}
    assert "il10" not in terms and {"il10deficient", "il", "10", "mice"} <= terms
