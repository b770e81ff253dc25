"""Citation data (volume, issue, pages, ISSN, affiliations, collective authors,
history dates) read from every format and written to MEDLINE and RIS, checked with
independent readers: Biopython's ``Bio.Medline`` and ``rispy`` read the exports of
every record of data/ (and Biopython the MEDLINE sources), lxml XPath the XML
sources."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.index.documents import record_from_json
from searchkit.output.citations import medline, page_range, ris, ris_author
from searchkit.readers import iter_files, read_file
from searchkit.readers._text import parse_date_text
from searchkit.records import Record

from .conftest import SAMPLE_DIR
from .test_cli import _searchkit_exe, runner

Medline = pytest.importorskip("Bio.Medline")
rispy = pytest.importorskip("rispy")


def _reader_records() -> dict[str, Record]:
    found: dict[str, Record] = {}
    for path in iter_files([SAMPLE_DIR]):
        for item in read_file(path):
            if isinstance(item, Record):
                found[item.pmid] = item
    return found


@pytest.fixture(scope="module")
def stored(sample_index_dir: Path) -> list[Record]:
    """Every record of data/ as the index stores it."""
    with SearchIndex.open(sample_index_dir).searcher() as searcher:
        records = [record_from_json(doc["record"]) for doc in searcher.all_stored_fields()]
    assert {r.pmid for r in records} == set(_reader_records())
    return sorted(records, key=lambda r: r.pmid)


def _norm(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def _slash(date: str | None) -> str | None:
    return date.replace("-", "/") if date else None


@pytest.mark.slow
def test_every_record_exported_as_medline_reads_back_in_biopython(stored: list[Record]) -> None:
    parsed = list(Medline.parse(io.StringIO(medline(stored) + "\n")))
    assert len(parsed) == len(stored) > 2000
    with_citation = 0
    for record, oracle in zip(stored, parsed, strict=True):
        people = [a for a in record.authors if not a.collective]
        assert oracle["PMID"] == record.pmid
        assert oracle.get("TI") == _norm(record.title), record.pmid
        assert oracle.get("AB") == _norm(record.abstract), record.pmid
        assert oracle.get("AU", []) == [a.name for a in people], record.pmid
        assert oracle.get("FAU", []) == [a.full_name for a in people if a.full_name]
        assert oracle.get("CN", []) == [a.name for a in record.authors if a.collective]
        affiliations = [_norm(ad) for a in record.authors for ad in a.affiliations]
        assert oracle.get("AD", []) == affiliations, record.pmid
        assert oracle.get("VI") == record.volume, record.pmid
        assert oracle.get("IP") == record.issue, record.pmid
        assert oracle.get("PG") == record.pages, record.pmid
        assert oracle.get("IS", "").split() == list(record.issns), record.pmid
        assert parse_date_text(oracle.get("DP"))[1] == (
            record.pub_date or (str(record.year) if record.year else None)
        ), record.pmid
        assert oracle.get("EDAT") == _slash(record.entrez_date), record.pmid
        assert oracle.get("CRDT", [None]) == [_slash(record.create_date)], record.pmid
        assert oracle.get("MHDA") == _slash(record.mesh_date), record.pmid
        assert oracle.get("TA") == record.journal_abbrev
        if record.book_title:  # a book record: its book, never a journal
            assert (oracle.get("JT"), oracle["BTI"]) == (None, [_norm(record.book_title)])
        else:
            assert oracle.get("JT") == _norm(record.journal)
        assert oracle.get("LA", []) == list(record.languages)
        assert oracle.get("PT", []) == list(record.publication_types)
        assert oracle.get("OT", []) == list(record.keywords)
        assert len(oracle.get("MH", [])) == len(record.mesh)
        assert oracle.get("PMC") == record.pmcid
        if record.doi:
            assert f"{record.doi} [doi]" in oracle["AID"]
        with_citation += bool(record.volume and record.pages)
    assert with_citation > 1500


@pytest.mark.slow
def test_every_record_exported_as_ris_reads_back_in_rispy(stored: list[Record]) -> None:
    entries = rispy.loads(ris(stored) + "\n")
    assert len(entries) == len(stored)
    for record, entry in zip(stored, entries, strict=True):
        assert entry["accession_number"] == record.pmid
        assert entry.get("title") == _norm(record.title)
        assert entry.get("authors", []) == [ris_author(a) for a in record.authors]
        assert entry.get("volume") == record.volume, record.pmid
        assert entry.get("number") == record.issue, record.pmid
        assert entry.get("issn", "").split() == list(record.issns), record.pmid
        affiliations = dict.fromkeys(_norm(ad) for a in record.authors for ad in a.affiliations)
        assert entry.get("author_address") == ("; ".join(affiliations) or None), record.pmid
        assert entry.get("doi") == record.doi
        assert entry.get("year") == (str(record.year) if record.year else None)
        if record.pages:
            first_range = re.split("[,;]", record.pages)[0]
            start, _, end = first_range.partition("-")
            if page_range(record.pages)[1] is None and end:  # an article number, "e01358-15"
                assert entry["start_page"] == first_range.strip(), record.pmid
                assert "end_page" not in entry
                continue
            assert entry["start_page"] == start.strip(), record.pmid
            if end:
                # MEDLINE abbreviates the last page ("152-5"); RIS has it whole.
                assert entry["end_page"].endswith(end.strip()), record.pmid
                assert len(entry["end_page"]) >= len(end.strip())
        else:
            assert "start_page" not in entry


def test_ris_writes_the_last_page_whole(stored: list[Record]) -> None:
    record = next(r for r in stored if r.pmid == "19353626")
    entry = rispy.loads(ris([record]))[0]
    assert (record.volume, record.issue, record.pages) == ("53", "2", "152-5")
    assert (entry["volume"], entry["number"], entry["start_page"], entry["end_page"]) == (
        "53",
        "2",
        "152",
        "155",
    )


@pytest.mark.parametrize("pmid", ["29199142", "25731871"])
def test_a_long_collective_author_stays_one_author(pmid: str, stored: list[Record]) -> None:
    record = next(r for r in stored if r.pmid == pmid)
    collective = [a.name for a in record.authors if a.collective]
    assert len(collective) == 1 and len(collective[0]) > 80
    oracle = next(Medline.parse(io.StringIO(medline([record]))))
    assert oracle["CN"] == collective
    assert oracle["AU"] == [a.name for a in record.authors if not a.collective]


def _medline_sources() -> Iterator[Path]:
    for path in sorted(SAMPLE_DIR.iterdir()):
        if path.suffix in (".txt", ".nbib") and path.read_text("utf-8").lstrip().startswith(
            "PMID-"
        ):
            yield path


def test_medline_input_keeps_citation_data_as_biopython_reads_it() -> None:
    compared = 0
    for path in _medline_sources():
        ours = [r for r in read_file(path) if isinstance(r, Record)]
        with path.open(encoding="utf-8") as handle:
            theirs = list(Medline.parse(handle))
        assert [r.pmid for r in ours] == [t["PMID"] for t in theirs]
        for record, oracle in zip(ours, theirs, strict=True):
            assert record.volume == oracle.get("VI")
            assert record.issue == oracle.get("IP")
            assert record.pages == oracle.get("PG")
            issns = [i for i in oracle.get("IS", "").split() if i[0].isdigit()]
            assert list(record.issns) == list(dict.fromkeys(issns)), record.pmid
            assert [a.name for a in record.authors if a.collective] == oracle.get("CN", [])
            ours_ad = [ad for a in record.authors for ad in a.affiliations]
            assert ours_ad == [_norm(ad) for ad in oracle.get("AD", [])], record.pmid
            assert _slash(record.entrez_date) == (oracle.get("EDAT") or "")[:10] or None
            assert _slash(record.mesh_date) == (oracle.get("MHDA") or "")[:10] or None
            crdt = oracle.get("CRDT")
            assert _slash(record.create_date) == (crdt[0][:10] if crdt else None)
            compared += 1
    assert compared >= 200


def _xml_articles() -> Iterator[etree._Element]:
    for path in sorted(SAMPLE_DIR.glob("*.xml.gz")):
        with gzip.open(path) as handle:
            tree = etree.parse(handle, etree.XMLParser(resolve_entities=False, no_network=True))
        yield from tree.iter("PubmedArticle")


def _xpath_text(elem: etree._Element, path: str) -> str | None:
    found = elem.xpath(path)
    return " ".join("".join(found[0].itertext()).split()) or None if found else None


@pytest.mark.slow
def test_xml_input_keeps_volume_issue_pages_and_history() -> None:
    records = {}
    for path in sorted(SAMPLE_DIR.glob("*.xml.gz")):
        for item in read_file(path):
            if isinstance(item, Record):
                records[item.pmid] = item
    with_all_three = 0
    for article in _xml_articles():
        record = records[_xpath_text(article, "MedlineCitation/PMID")]  # type: ignore[index]
        issue = "MedlineCitation/Article/Journal/JournalIssue/"
        volume = _xpath_text(article, issue + "Volume")
        number = _xpath_text(article, issue + "Issue")
        pages = _xpath_text(article, "MedlineCitation/Article/Pagination/MedlinePgn")
        assert (record.volume, record.issue) == (volume, number), record.pmid
        if pages:
            assert record.pages == pages, record.pmid
        with_all_three += bool(volume and number and pages)
        for status, value in (
            ("pubmed", record.entrez_date),
            ("entrez", record.create_date),
            ("medline", record.mesh_date),
        ):
            dates = article.xpath(f"PubmedData/History/PubMedPubDate[@PubStatus='{status}']")
            if dates:
                y, m, d = (dates[0].findtext(p) for p in ("Year", "Month", "Day"))
                assert value == f"{int(y):04d}-{int(m):02d}-{int(d):02d}", record.pmid
            else:
                assert value is None
        ads = article.xpath("MedlineCitation/Article/AuthorList/Author/AffiliationInfo")
        if ads:
            assert any(a.affiliations for a in record.authors), record.pmid
    assert with_all_three >= 544


@pytest.mark.slow
def test_show_exports_citation_data_through_the_cli(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app, ["show", "19353626", "--format", "ris", "--index", str(sample_index_dir)]
    )
    assert result.exit_code == 0, result.output
    entry = rispy.loads(result.stdout)[0]
    assert (entry["volume"], entry["number"], entry["start_page"]) == ("53", "2", "152")
    result = subprocess.run(
        [_searchkit_exe(), "show", "19353626", "--format", "medline"],
        capture_output=True,
        text=True,
        env={**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    oracle = next(Medline.parse(io.StringIO(result.stdout)))
    assert (oracle["VI"], oracle["IP"], oracle["PG"]) == ("53", "2", "152-5")
    assert oracle["CN"] == ["TREP Group", "CSD of Epidemiology Biostatistics, AIEOP"]
    assert oracle["EDAT"] == "2009/04/09"


@pytest.mark.slow
def test_every_record_round_trips_through_json_lines(stored: list[Record], tmp_path: Path) -> None:
    """``show --format jsonl`` output is ingestable: affiliations, collective flags,
    citation fields and dates come back the same."""
    path = tmp_path / "records.jsonl"
    path.write_text(
        "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in stored), "utf-8"
    )
    back = [item for item in read_file(path) if isinstance(item, Record)]
    assert back == stored
    assert sum(1 for r in back if any(a.affiliations for a in r.authors)) > 700


def test_abstract_text_tells_collective_authors_from_people() -> None:
    path = SAMPLE_DIR / "OliverCardiff_Literature_networks__pubmed_result.txt.gz"
    records = {r.pmid: r for r in read_file(path) if isinstance(r, Record)}

    def collective(pmid: str) -> list[str]:
        return [a.name for a in records[pmid].authors if a.collective]

    assert collective("25731871") == [
        "IBD Study Group of the Korean Association for the Study of Intestinal Diseases (KASID)"
    ]
    assert collective("30813280") == []  # "Keita ÅV": initials in any alphabet
    assert collective("27582588") == []  # "Johari S MPharm PhD": degrees after initials
    assert "Van Coster RN" in [a.name for a in records["25604658"].authors]
    assert "Van Coster RN" not in collective("25604658")


def _wrapped_word_by_word(tag: str, value: str) -> list[str]:
    """The MEDLINE wrapping spelt out a word at a time (what ``_tag_lines`` did before
    it matched lines with a regular expression): the reference it must equal."""
    from searchkit.output.citations import WIDTH, WRAPPED

    words = value.split()
    if tag not in WRAPPED:
        return [f"{tag:<4}- {' '.join(words)}"]
    lines: list[str] = []
    current = f"{tag:<4}-"
    length = len(current)
    for word in words:
        if length + 1 + len(word) > WIDTH and length > 6:
            lines.append(current)
            current, length = "     ", 5
        current += " " + word
        length += 1 + len(word)
    lines.append(current)
    return lines


def test_medline_lines_wrap_as_word_by_word_wrapping_does() -> None:
    """Every title, abstract, journal and affiliation of data/, and values made of
    words around the line's width (exactly 82 characters, 83, longer), Unicode
    spaces and none at all: the same lines."""
    import random

    from searchkit.output.citations import _tag_lines

    values: list[str] = ["", " ", "x" * 82, "x" * 83, "x" * 200, "ab " * 40, "a " * 41]
    for path in iter_files([SAMPLE_DIR]):
        for record in read_file(path):
            if isinstance(record, Record):
                values += [v for v in (record.title, record.abstract, record.journal) if v]
                values += [a for author in record.authors for a in author.affiliations]
    assert len(values) > 4000
    rng = random.Random(7)
    words = ["a", "bb", "x" * 81, "y" * 82, "z" * 83, "w" * 90, "\xa0", "\u03b1", "\u2028", "\t"]
    values += [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for tag in ("TI", "AB", "JT", "AD", "AU", "PG"):
        for value in values:
            assert _tag_lines(tag, value) == _wrapped_word_by_word(tag, value), (tag, value)
