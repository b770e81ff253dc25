"""Ingest must never put one record's text under another's PMID, let a damaged file
replace good indexed records, fail for files that are not records, or count a file
twice: through ``searchkit ingest`` as a real process, on files made from real
records in tests/data."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from .cli_helpers import process
from .conftest import ABSTRACT_TEXT, ORTHO_NBIB, ORTHO_XML, SCIFACT, TEST_DATA

MEDLINE = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"


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
    stderr = _refused_as_cut(index, cut, whole, data[:start].count(b"\n") + 1)
    assert "2 unchanged" in stderr and "eplaced" not in stderr
    assert _show(index, "27506154") == before


def _refused_as_cut(index: Path, cut: Path, whole: Path, line: int) -> str:
    """Ingest ``cut`` into ``index`` (which holds ``whole``): one skipped line naming the
    cut record's first ``line``, exit 1, ``cut`` not recorded as ingested; its stderr."""
    result = process(index, "ingest", str(cut), "--procs", "1", "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert _skipped(result.stderr) == [
        f"skipped: {cut}, line {line}: file ends mid-record (truncated?); the record is not read"
    ]
    sources = process(index, "sources", "--format", "json")
    assert sources.returncode == 0, sources.stderr
    assert str(cut) not in sources.stdout and str(whole) in sources.stdout
    return result.stderr


def _baseline_folder(tmp_path: Path) -> Path:
    """A folder as NLM ships it (each .xml.gz beside its .md5), with a stray JSON
    settings file and notes beside a MEDLINE export."""
    folder = tmp_path / "baseline"
    folder.mkdir()
    packed = folder / "pubmed25n0001.xml.gz"
    packed.write_bytes(gzip.compress(ORTHO_XML.read_bytes()))
    digest = hashlib.md5(packed.read_bytes()).hexdigest()
    (folder / "pubmed25n0001.xml.gz.md5").write_text(f"MD5({packed.name})= {digest}\n")
    (folder / "config.json").write_text('{"batch": 500, "mirror": "ftp.ncbi.nlm.nih.gov"}\n')
    (folder / "notes.txt").write_text("Downloaded from the NLM baseline.\n")
    (folder / "medline.nbib").write_bytes(MEDLINE.read_bytes())
    return folder


def test_files_in_no_record_format_in_a_folder_are_passed_over(tmp_path: Path) -> None:
    """The .md5 beside each baseline file made every run exit 1 (and was never
    recorded, so it failed again on every run); a JSON settings file was taken for
    JSON Lines and recorded as a source with one record skipped."""
    folder = _baseline_folder(tmp_path)
    index = tmp_path / "ix"
    for run in range(2):
        result = process(index, "ingest", str(folder), "--procs", "1", "--quiet")
        assert result.returncode == 0, result.stderr
        assert _skipped(result.stderr) == [] and "Traceback" not in result.stderr
        assert "3 files in no record format passed over" in result.stderr, result.stderr
        assert (
            "Added 9 records from 2 files" if run == 0 else "Nothing to read: 2 files unchanged"
        ) in result.stderr
    sources = process(index, "sources", "--format", "json")
    recorded = {Path(entry["path"]).name for entry in json.loads(sources.stdout)}
    assert recorded == {"pubmed25n0001.xml.gz", "medline.nbib"}


def test_a_file_named_on_the_command_line_must_be_records(tmp_path: Path) -> None:
    folder = _baseline_folder(tmp_path)
    md5 = folder / "pubmed25n0001.xml.gz.md5"
    result = process(tmp_path / "ix", "ingest", str(md5), "--procs", "1", "--quiet")
    assert result.returncode == 1
    assert _skipped(result.stderr) == [
        f"skipped: {md5}, file: not a recognised record format (expected PubMed XML, "
        "MEDLINE, JSON Lines, or PubMed text)"
    ]


def test_record_files_in_a_folder_still_fail_loudly(tmp_path: Path) -> None:
    """Passing over files in no record format must not hide damaged record files:
    an empty .nbib, JSON Lines with one bad line (named .json), an .xml that is not
    PubMed XML."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-empty.nbib").write_bytes(b"")
    lines = SCIFACT.read_text("utf-8").splitlines()
    lines[1] = lines[1].replace('"_id"', '"id"', 1)
    (folder / "b-corpus.json").write_text("\n".join(lines) + "\n", "utf-8")
    (folder / "c-other.xml").write_text("<?xml version='1.0'?>\n<Other/>\n", "utf-8")
    result = process(tmp_path / "ix", "ingest", str(folder), "--procs", "1", "--quiet")
    assert result.returncode == 1
    assert _skipped(result.stderr) == [
        f"skipped: {folder / 'a-empty.nbib'}, file: file is empty",
        f"skipped: {folder / 'b-corpus.json'}, line 2: unknown field(s): id, metadata, text",
        f"skipped: {folder / 'c-other.xml'}, file: not a recognised record format: XML, "
        "but not PubMed XML (no <PubmedArticleSet>)",
    ]
    assert f"Added {len(lines) - 1} records from 3 files" in result.stderr


def test_a_path_given_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ingest d d` and `ingest f ./f` read everything twice, and the summary counted
    every record twice ("Added 13 and replaced 3 ..." for 6 files)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "medline.nbib").write_bytes(MEDLINE.read_bytes())
    (folder / "ortho.xml").write_bytes(ORTHO_XML.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = process(
        tmp_path / "ix", "ingest", "in", str(folder), "./in/ortho.xml", "--procs", "1", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert "Added 9 records from 2 files in " in result.stderr, result.stderr
    again = process(
        tmp_path / "ix2",
        "ingest",
        "in/medline.nbib",
        "./in/medline.nbib",
        "--procs",
        "1",
        "--quiet",
    )
    assert again.returncode == 0, again.stderr
    assert "Added 4 records from 1 file in " in again.stderr, again.stderr


def test_undeclared_xml_entity_costs_only_its_record(tmp_path: Path) -> None:
    """``&eacute;`` in a file without a DOCTYPE dropped the rest of the file ("no
    element found", no line); with PubMed's DOCTYPE it was indexed as a hole."""
    text = re.sub(r"<!DOCTYPE[^>]*>\n", "", ORTHO_XML.read_text(encoding="utf-8"))
    second = [m.end() for m in re.finditer("<ArticleTitle>", text)][1]
    bad = tmp_path / "entity.xml"
    bad.write_text(text[:second] + "Caf&eacute; " + text[second:], encoding="utf-8")
    index = tmp_path / "ix"
    result = process(index, "ingest", str(bad), "--procs", "1", "--quiet")
    assert result.returncode == 1, result.stderr
    line = text[:second].count("\n") + 1
    assert _skipped(result.stderr) == [
        f"skipped: {bad}, line {line}: uses the entity &eacute; which the file does not "
        "declare (PubMed XML writes characters, not named entities); the record is not "
        "read, to keep its text whole"
    ]
    assert "Added 4 records from 1 file" in result.stderr


@pytest.mark.parametrize(
    ("cut_at", "kept"),
    [
        (b"Macrophages activated by the TLR4", "25565206"),  # inside the last record
        (b"1158. Cell Metab. 20", "25886032"),  # inside the next citation line
    ],
)
def test_truncated_abstract_text_never_replaces_complete_records(
    tmp_path: Path, cut_at: bytes, kept: str
) -> None:
    """An "Abstract" text export cut short (``head -c``), ingested after the whole
    file: the cut record was skipped yet the file recorded as fully ingested, and a
    cut next citation ("1158. Cell Metab. 20") became the previous record's abstract."""
    whole = tmp_path / "whole.txt"
    whole.write_bytes(ABSTRACT_TEXT.read_bytes())
    index = tmp_path / "ix"
    first = process(index, "ingest", str(whole), "--procs", "1", "--quiet")
    assert first.returncode == 0, first.stderr
    before = _show(index, kept)
    data = ABSTRACT_TEXT.read_bytes()
    end = data.index(cut_at) + len(cut_at)
    start = data.index(b"1158. Cell Metab")  # the cut record's first line
    cut = tmp_path / "cut.txt"
    cut.write_bytes(data[:end])
    stderr = _refused_as_cut(index, cut, whole, data[:start].count(b"\n") + 1)
    assert "eplaced" not in stderr
    assert _show(index, kept) == before


def test_two_pages_in_one_page_text_file_keep_their_own_text(
    tmp_path: Path, shared_data: Path
) -> None:
    """The tester's file: a short page, then the seed page. The first PMID was
    stored with the second page's title, ids and abstract in its abstract, and the
    second PMID was lost."""
    pages = tmp_path / "twopages.txt"
    pages.write_bytes(
        b"Second article title here\n- PMID: 11111111\n- DOI: 10.1/abc\nAbstract\n"
        b"Second page abstract about kidneys.\n"
        + (shared_data / "seed" / "pubmed-34572009-page.txt").read_bytes()
    )
    index = tmp_path / "ix"
    result = process(index, "ingest", str(pages), "--procs", "1", "--quiet")
    assert result.returncode == 0, result.stderr
    assert _skipped(result.stderr) == []
    first = _show(index, "11111111")
    assert (first["title"], first["abstract"], first["doi"]) == (
        "Second article title here",
        "Second page abstract about kidneys.",
        "10.1/abc",
    )
    second = _show(index, "34572009")
    assert str(second["title"]).startswith("The Immune Privilege of Cancer Stem Cells")
    assert str(second["abstract"]).startswith("Cancer stem cells (CSCs)")
    assert "kidneys" not in json.dumps(second)
