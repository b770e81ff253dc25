"""Ingest must never put one record's text under another's PMID, let a damaged file
replace good indexed records, fail for files that are not records, or count a file
twice: through ``searchkit ingest`` as a real process, on files made from real
records in tests/data."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_helpers import process
from .conftest import TEST_DATA

ORTHO_NBIB = TEST_DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib"
ABSTRACT_TEXT = (
    TEST_DATA / "abstract_text" / "OliverCardiff_Literature_networks__pubmed_result.cut.txt"
)


def _skipped(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped:")]


def _show(index: Path, pmid: str) -> dict[str, object]:
    shown = process(index, "show", pmid, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert isinstance(record, dict)
    return record


def test_abstract_text_citation_without_pmid_does_not_lend_its_text(tmp_path: Path) -> None:
    """Record 4 of the export without its PMID line, followed by record 19: record 19
    was indexed with record 4's title, authors and DOI, exit 0 and no warning."""
    bad = tmp_path / "export.txt"
    bad.write_bytes(ABSTRACT_TEXT.read_bytes().replace(b"PMID: 30818341 \r\n", b""))
    index = tmp_path / "ix"
    result = process(index, "ingest", str(bad), "--procs", "1", "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    data = bad.read_bytes()
    line = data[: data.index(b"4. PLoS Pathog")].count(b"\n") + 1
    assert _skipped(result.stderr) == [f"skipped: {bad}, line {line}: record has no PMID"]
    record = _show(index, "30721250")
    assert str(record["title"]).startswith("Correction: ")
    assert record["doi"] == "10.1371/journal.pone.0212148"


def test_truncated_medline_file_never_replaces_complete_records(tmp_path: Path) -> None:
    """A MEDLINE file cut inside a record, ingested after the whole file: the cut
    record replaced its complete copy (authors and MeSH lost, abstract cut), exit 0,
    and the cut file was recorded as fully ingested."""
    whole = tmp_path / "whole.nbib"
    whole.write_bytes(ORTHO_NBIB.read_bytes())
    index = tmp_path / "ix"
    first = process(index, "ingest", str(whole), "--procs", "1", "--quiet")
    assert first.returncode == 0, first.stderr
    before = _show(index, "27506154")
    assert before["authors"] and before["mesh"]
    data = ORTHO_NBIB.read_bytes()
    start = data.index(b"PMID- 27506154")
    cut = tmp_path / "cut.nbib"
    cut.write_bytes(data[: data.index(b"Spondylodiscitis in", start)])
    result = process(index, "ingest", str(cut), "--procs", "1", "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = data[:start].count(b"\n") + 1
    assert _skipped(result.stderr) == [
        f"skipped: {cut}, line {line}: file ends mid-record (truncated?); the record is not read"
    ]
    assert "2 unchanged" in result.stderr and "eplaced" not in result.stderr
    assert _show(index, "27506154") == before
    sources = process(index, "sources", "--format", "json")
    assert sources.returncode == 0, sources.stderr
    assert str(cut) not in sources.stdout and str(whole) in sources.stdout
