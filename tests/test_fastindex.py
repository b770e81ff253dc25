"""The fast indexing path gives exactly the postings Whoosh's own analysis gives."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis import KeywordAnalyzer, RegexTokenizer, StemmingAnalyzer, StopFilter
from whoosh.fields import KEYWORD, TEXT

from searchkit.engine.field_indexers import compile_field, compile_schema, compile_simple
from searchkit.index.documents import record_to_fields
from searchkit.index.schema import NameTokenizer, build_schema
from searchkit.readers import iter_files, read_file
from searchkit.records import Record

from .conftest import SAMPLE_DIR

SCHEMA = build_schema()
FAST = {name: compile_field(SCHEMA[name]) for name in compile_schema(SCHEMA)}


@functools.cache
def sample_records() -> list[Record]:
    """Every record of data/ as read (some twice), in file order: read once, by the
    first test that needs it (not while tests are collected: every test worker collects
    every module, also for runs that select none of these tests)."""
    return [
        item
        for path in iter_files([SAMPLE_DIR])
        for item in read_file(path)
        if isinstance(item, Record)
    ]


@functools.cache
def sample_docs() -> list[dict[str, Any]]:
    """:func:`sample_records` as the fields the writers take."""
    return [record_to_fields(record) for record in sample_records()]


def test_the_free_text_fields_take_the_fast_path() -> None:
    # Fields with analyzers the fast path does not know (the author tokenizer with
    # gaps between names) fall back to Whoosh's own indexing, which is always right.
    text_fields = {n for n, f in SCHEMA.items() if isinstance(f, TEXT)}
    assert set(FAST) <= text_fields
    assert {"title", "abstract", "keywords", "mesh", "affiliation"} <= set(FAST)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAST))
def test_same_postings_as_whoosh_on_the_sample(name: str) -> None:
    values = sorted({str(d[name]) for d in sample_docs() if name in d})  # data/ has some twice
    assert len(values) > 50
    for value in values:
        assert FAST[name](value) == list(SCHEMA[name].index(value)), value


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aAeiIostTnN-.,' 0123456789ßéΩ\u00a0\t\nthe of and")),
        max_size=80,
    )
)
def test_same_postings_as_whoosh_on_any_text(text: str) -> None:
    for name in ("abstract", "title"):
        assert FAST[name](text) == list(SCHEMA[name].index(text))


def test_stop_words_at_the_start_keep_whoosh_positions() -> None:
    text = "The of and cancer of the stem cells cancer"
    assert FAST["abstract"](text) == list(SCHEMA["abstract"].index(text))


def test_unsupported_fields_are_left_to_whoosh() -> None:
    assert compile_field(KEYWORD()) is None
    assert compile_field(TEXT(analyzer=KeywordAnalyzer())) is None
    assert compile_field(TEXT(analyzer=StemmingAnalyzer())) is None  # Whoosh's StemFilter
    assert compile_field(TEXT(phrase=False)) is None  # Frequency format
    assert compile_field(TEXT(vector=True)) is None
    no_renumber = TEXT(analyzer=RegexTokenizer() | StopFilter(renumber=False))
    fast = compile_field(no_renumber)
    assert fast is not None
    text = "the cat and the hat"
    assert fast(text) == list(no_renumber.index(text))


def _fast_field_postings(reader: Any) -> list[tuple[str, Any, list[Any]]]:
    """Every term of the fast-path fields with its postings (document, positions)."""
    return [
        (field, term, list(reader.postings(field, term).items_as("positions")))
        for field, term in reader.all_terms()
        if field in FAST
    ]


@pytest.mark.slow
def test_fast_writer_index_equals_stock_writer_index(tmp_path: Path) -> None:
    import whoosh.index
    from whoosh.writing import SegmentWriter

    from searchkit.engine.segment_writer import FastSegmentWriter

    postings = []
    for name, cls in (("stock", SegmentWriter), ("fast", FastSegmentWriter)):
        (tmp_path / name).mkdir()
        ix = whoosh.index.create_in(str(tmp_path / name), build_schema())
        writer = cls(ix)
        for doc in sample_docs()[:150]:  # the same steps on more: Whoosh's writer is slow
            writer.add_document(**doc)
        writer.commit()
        with ix.reader() as reader:
            postings.append(_fast_field_postings(reader))
            stored = [reader.stored_fields(i) for i in range(reader.doc_count_all())]
        postings.append(stored)
    assert postings[0] == postings[2]
    assert postings[1] == postings[3]


@pytest.mark.slow
def test_spilled_runs_give_the_same_index(tmp_path: Path) -> None:
    """A tiny pool limit makes the writer spill many sorted runs to disk and merge
    them; the index must equal one written without spilling."""
    import whoosh.index

    from searchkit.engine.segment_writer import FastSegmentWriter

    contents = []
    for name, limitmb in (("big", 256), ("tiny", 0)):
        (tmp_path / name).mkdir()
        ix = whoosh.index.create_in(str(tmp_path / name), build_schema())
        writer = FastSegmentWriter(ix, limitmb=limitmb)
        for doc in sample_docs()[:100]:
            writer.add_document(**doc)
        if name == "tiny":
            assert len(writer.pool.runs) > 10
        writer.commit()
        with ix.reader() as reader:
            contents.append(_fast_field_postings(reader))
    assert contents[0] == contents[1]


@pytest.mark.parametrize(
    "text",
    [
        "PD-L1, PDL1 and PD L1 in CD8+ T cells of the MHC class I pathway",
        "TNF-\u03b1 and \u03b2-catenin; HLA-A*02:01 carriers with SARS-CoV-2 (COVID-19)",
        "IL 6 rose 1,000-fold in naïve mice; Alzheimer's disease and the a of HLA-A",
    ],
)
def test_biomedical_analyzer_fast_path_matches_whoosh(text: str) -> None:
    for name in ("title", "abstract", "keywords", "mesh"):
        assert FAST[name](text) == list(SCHEMA[name].index(text))


SIMPLE = {
    name: fast
    for name, field in SCHEMA.items()
    if (fast := compile_simple(field)) is not None and name not in FAST
}


def test_list_name_and_id_fields_take_the_simple_path() -> None:
    assert {"pmid", "authors", "first_author", "journal", "mesh_heading", "pdat"} <= set(SIMPLE)
    assert "year" not in SIMPLE  # NUMERIC indexes its own way
    assert compile_simple(TEXT(analyzer=KeywordAnalyzer())) is None
    assert compile_simple(TEXT(analyzer=NameTokenizer(), vector=True)) is None


@pytest.mark.slow
def test_simple_fields_give_whoosh_postings_on_the_sample() -> None:
    # Every value of every such field in data/ (authors with initials, MeSH entries,
    # journals, dates, PMIDs): the same postings as Whoosh's generators give.
    compared = 0
    for doc in sample_docs():
        for name, fast in SIMPLE.items():
            value = doc.get(name)
            if value is None:
                continue
            assert sorted(fast(value)) == sorted(SCHEMA[name].index(value)), (name, value)
            compared += 1
    assert compared > 10_000


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aAJKİßé ;.,-'0 \t")), max_size=60))
def test_simple_fields_give_whoosh_postings_on_any_text(text: str) -> None:
    for name in ("authors", "journal", "pmid", "pdat"):
        assert sorted(SIMPLE[name](text)) == sorted(SCHEMA[name].index(text)), name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**31 - 1), max_size=40))
def test_positions_are_encoded_as_whooshs_positions_format_encodes_them(
    positions: list[int],
) -> None:
    """The writer's encoding of a posting's positions is Whoosh's, byte for byte (any
    order: a joined code's term comes at an earlier position than the one before it)."""
    from whoosh.formats import Positions

    from searchkit.engine.field_indexers import encode_positions

    assert encode_positions(positions) == Positions().encode(positions)
    assert encode_positions(sorted(positions)) == Positions().encode(sorted(positions))
