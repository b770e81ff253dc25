"""What reference managers read from the exports: RIS authors as "Last, Initials"
when only PubMed's short form is known, a letter-prefixed abbreviated last page
written out (and an article number never split), MEDLINE's publication date as
PubMed writes it, and CSV with its header and the journal a record names. On
records of data/, through the CLI (in-process and as a real process)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from searchkit.output.citations import page_range, ris_author
from searchkit.records import Author

from .cli_helpers import process, run

rispy = pytest.importorskip("rispy")


def _ris(index: Path, pmid: str) -> dict[str, object]:
    result = run(index, "show", pmid, "--format", "ris")
    assert result.exit_code == 0, result.stderr
    return rispy.loads(result.stdout)[0]


@pytest.mark.parametrize(
    ("author", "written"),
    [
        (Author("Beaugerie L"), "Beaugerie, L"),
        (Author("de Gramont A"), "de Gramont, A"),
        (Author("Van der Berg JH"), "Van der Berg, JH"),
        (Author("Smith JA Jr"), "Smith, JA, Jr"),
        (Author("Keita ÅV"), "Keita, ÅV"),
        (Author("Smith JA", full_name="Smith, John A"), "Smith, John A"),
        (Author("Virgin HW 4th"), "Virgin, HW, 4th"),
        (Author("Rotondi Aufiero V"), "Rotondi Aufiero, V"),
        (Author("Almeida Md"), "Almeida Md"),
        (Author("Madonna"), "Madonna"),
        (Author("Cancer Genome Atlas Network", collective=True), "Cancer Genome Atlas Network"),
        (Author("GBD 2019 Collaborators", collective=True), "GBD 2019 Collaborators"),
    ],
)
def test_an_ris_author_is_last_name_comma_the_rest(author: Author, written: str) -> None:
    assert ris_author(author) == written


def test_ris_authors_of_a_record_with_short_names_only(sample_index_dir: Path) -> None:
    """PMID 24162591 comes from PubMed's abstract-text export: no full names. Zotero
    and EndNote split an RIS author at its comma; "Beaugerie L" was a surname."""
    entry = _ris(sample_index_dir, "24162591")
    authors = entry["authors"]
    assert isinstance(authors, list)
    assert authors[:2] == ["Beaugerie, L", "Carrat, F"]
    assert authors[-3:] == ["de Gramont, A", "Peyrin-Biroulet, L", "CESAME Study Group"]


@pytest.mark.parametrize(
    ("pages", "first", "last"),
    [
        ("152-5", "152", "155"),
        ("G446-57", "G446", "G457"),
        ("E4658-67", "E4658", "E4667"),
        ("i276-83", "i276", "i283"),
        ("S12-S15", "S12", "S15"),
        ("e01358-15", "e01358-15", None),
        ("1000-1", "1000", "1001"),
        ("e1007614", "e1007614", None),
        ("120-2, 174", "120", "122"),
        ("xii-xiv", "xii", "xiv"),
    ],
)
def test_page_ranges(pages: str, first: str, last: str | None) -> None:
    assert page_range(pages) == (first, last)


@pytest.mark.parametrize(
    ("pmid", "first", "last"),
    [("27492330", "G446", "G457"), ("25316791", "E4658", "E4667"), ("26670383", "e01358-15", None)],
)
def test_ris_pages_of_records(
    sample_index_dir: Path, pmid: str, first: str, last: str | None
) -> None:
    entry = _ris(sample_index_dir, pmid)
    assert (entry.get("start_page"), entry.get("end_page")) == (first, last)


def test_medline_publication_date_as_pubmed_writes_it(sample_index_dir: Path) -> None:
    """PubMed writes "2019 Jan 1" (the day without a leading zero), as the nbib file
    this record came from does."""
    result = process(sample_index_dir, "show", "30045346", "--format", "medline")
    assert result.returncode == 0, result.stderr
    assert "DP  - 2019 Jan 1\n" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("search", "zzqqxxnotaword", "--format", "csv"),
        ("search", "cancer", "--format", "csv", "--limit", "0"),
        ("similar", "34572009", "--format", "csv", "--limit", "0"),
    ],
    ids=["no-match", "limit-0", "similar-limit-0"],
)
def test_csv_without_rows_still_has_its_header(
    sample_index_dir: Path, args: tuple[str, ...]
) -> None:
    """An empty CSV file is no table: pandas.read_csv refuses it, appending scripts
    lose their columns."""
    result = run(sample_index_dir, *args)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = ["rank", "pmid", "score", "year", "journal", "title", "authors", "doi", "snippet"]
    assert rows == [header]


def test_csv_journal_is_the_abbreviation_when_no_full_title_is_known(
    sample_index_dir: Path,
) -> None:
    result = run(sample_index_dir, "search", "24162591[pmid]", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    (row,) = csv.DictReader(io.StringIO(result.stdout))
    assert row["journal"] == "Gut"
    shown = run(sample_index_dir, "show", "24162591", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(shown.stdout))
    assert row["journal"] == "Gut"
