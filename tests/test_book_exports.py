"""Book chapters (PubMed's ``PubmedBookArticle``: NCBI Bookshelf, PDQ summaries,
GeneReviews, StatPearls) keep their book, publisher and place, and are exported as
chapters: RIS ``TY  - CHAP`` with the book title in ``T2`` (Zotero's book title of a
book section), ``PB`` and ``CY``; MEDLINE ``BTI``, ``PB`` and ``PL`` as PubMed writes a
book record, never ``JT`` (a reference manager takes that for a journal). A MEDLINE
export reads back into the same record. On data/'s seven chapters, through the CLI
in-process and as a real process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from searchkit import SearchIndex, ingest
from searchkit.output.citations import to_medline, to_ris
from searchkit.readers import read_file
from searchkit.records import Record

from .cli_helpers import process, run

rispy = pytest.importorskip("rispy")
Medline = pytest.importorskip("Bio.Medline")

CHAPTER = "29165978"
BOOK = "Assay Guidance Manual"
PUBLISHER = "Eli Lilly & Company and the National Center for Advancing Translational Sciences"
PLACE = "Bethesda (MD)"
PDQ = ("29337475", "29320137", "26389315", "26389276", "27253005", "26844334")


def test_a_chapter_read_from_pubmed_xml_keeps_its_book(sample_index_dir: Path) -> None:
    record = SearchIndex.open(sample_index_dir).get(CHAPTER)
    assert (record.book_title, record.publisher, record.publisher_location) == (
        BOOK,
        PUBLISHER,
        PLACE,
    )
    assert record.title and record.title.startswith("Measurement of cAMP")
    for pmid in PDQ:
        pdq = SearchIndex.open(sample_index_dir).get(pmid)
        assert pdq.book_title == "PDQ Cancer Information Summaries", pmid
        assert pdq.publisher == "National Cancer Institute (US)", pmid


def test_ris_exports_a_chapter_as_a_chapter(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "show", CHAPTER, "--format", "ris")
    assert result.exit_code == 0, result.stderr
    (entry,) = rispy.loads(result.stdout)
    assert entry["type_of_reference"] == "CHAP"
    assert entry["secondary_title"] == BOOK
    assert entry["publisher"] == PUBLISHER
    assert entry["place_published"] == PLACE
    assert "journal_name" not in entry and "alternate_title3" not in entry


def test_medline_exports_a_chapter_as_pubmed_writes_a_book_record(
    sample_index_dir: Path,
) -> None:
    result = process(sample_index_dir, "show", CHAPTER, "--format", "medline")
    assert result.returncode == 0, result.stderr
    oracle = next(Medline.parse(io.StringIO(result.stdout)))
    # Biopython gives BTI and PB, tags it has no rule for, as lists of their values.
    assert (oracle["BTI"], oracle["PB"], oracle["PL"]) == ([BOOK], [PUBLISHER], PLACE)
    assert "JT" not in oracle
    assert oracle["TI"].startswith("Measurement of cAMP")


def test_a_chapter_exported_as_medline_reads_back_the_same(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    stored = [SearchIndex.open(sample_index_dir).get(p) for p in (CHAPTER, *PDQ)]
    export = tmp_path / "books.nbib"
    export.write_text("\n\n".join(to_medline(r) for r in stored) + "\n", "utf-8")
    again = {r.pmid: r for r in read_file(export) if isinstance(r, Record)}
    for record in stored:
        assert again[record.pmid].book_title == record.book_title
        assert again[record.pmid].publisher == record.publisher
        assert again[record.pmid].publisher_location == record.publisher_location
        assert again[record.pmid].journal == record.journal
    index = tmp_path / "ix"
    with SearchIndex.create(index) as ix:
        assert ingest([export], ix).ok
    assert SearchIndex.open(index).get(CHAPTER) == SearchIndex.open(sample_index_dir).get(CHAPTER)


def test_a_whole_book_is_a_book() -> None:
    book = Record(pmid="1", title="GeneReviews", book_title="GeneReviews", publisher="UW")
    lines = to_ris(book).splitlines()
    assert lines[0] == "TY  - BOOK"
    assert "T2  - GeneReviews" not in lines and "PB  - UW" in lines
    article = Record(pmid="2", title="A", journal="Gut", journal_abbrev="Gut")
    assert to_ris(article).splitlines()[0] == "TY  - JOUR"
    assert "JT  - Gut" in to_medline(article).splitlines()
