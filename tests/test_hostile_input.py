"""Hostile and broken input, end to end through ``searchkit ingest``.

Each bad input is ingested together with a good file into an index that already
holds a record. Every case must give one clear ``skipped:`` line naming the file
and the line or record, exit 1, no traceback, and leave everything else intact:
the earlier record, the good file's records and the good records of the bad file
before the damage.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app

from .conftest import (
    ABSTRACT_TEXT,
    ORTHO_NBIB,
    ORTHO_XML,
    SAMPLE_DIR,
    SCIFACT,
    SEED_PMID,
    TEST_DATA,
)
from .test_cli import _searchkit_exe

runner = CliRunner()

SEED_FILE = TEST_DATA / "page_text" / "pubmed-34572009-page.txt"
GOOD_FILE = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
ORTHO_PMIDS = ("28748004", "25238468", "27506154", "28630219", "28504498")
BIG = 50 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    """A bad input: how to make it, what the skipped line says, which of its PMIDs
    must still be indexed."""

    make: Callable[[Path], Path]
    reason: str  # a regular expression for the line after "skipped: <file>, "
    kept: tuple[str, ...] = ()


def _ortho_text() -> str:
    return ORTHO_XML.read_text(encoding="utf-8")


def _third_article(data: bytes) -> int:
    return [m.start() for m in re.finditer(rb"<PubmedArticle>", data)][2]


def _truncated_gz(tmp: Path) -> Path:
    packed = gzip.compress(ORTHO_XML.read_bytes())
    path = tmp / "truncated.xml.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    return path


def _truncated_xml(tmp: Path) -> Path:
    data = ORTHO_XML.read_bytes()
    path = tmp / "truncated.xml"
    path.write_bytes(data[: _third_article(data) + 500])
    return path


def _with_doctype(tmp: Path, name: str, doctype: str, reference: str) -> Path:
    text = re.sub(r"<!DOCTYPE[^>]*>", doctype, _ortho_text())
    text = text.replace(
        "Pott's disease].</ArticleTitle>", f"Pott's {reference} disease].</ArticleTitle>"
    )
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def _xxe(tmp: Path) -> Path:
    # Both a local file and a network URL: neither may be read.
    doctype = (
        '<!DOCTYPE PubmedArticleSet [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
        '<!ENTITY net SYSTEM "http://192.0.2.1/secret">\n]>'
    )
    return _with_doctype(tmp, "xxe.xml", doctype, "&xxe; &net;")


def _billion_laughs(tmp: Path) -> Path:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE PubmedArticleSet [\n" + "\n".join(entities) + "\n]>"
    return _with_doctype(tmp, "bomb.xml", doctype, "&lol9;")


def _small_bomb(tmp: Path) -> Path:
    # Below libxml2's amplification limit: refused by the reader, record by record.
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 3}">' for i in range(1, 4)
    ]
    doctype = "<!DOCTYPE PubmedArticleSet [\n" + "\n".join(entities) + "\n]>"
    return _with_doctype(tmp, "small-bomb.xml", doctype, "&lol3;")


def _invalid_utf8(tmp: Path) -> Path:
    lines = ORTHO_NBIB.read_bytes().split(b"\n")
    number = next(i for i, line in enumerate(lines) if line.startswith(b"PMID- 27506154"))
    lines[number + 3] = lines[number + 3] + b" caf\xe9 \xff"
    path = tmp / "latin1.nbib"
    path.write_bytes(b"\n".join(lines))
    return path


def _invalid_utf8_xml(tmp: Path) -> Path:
    path = tmp / "latin1.xml"
    path.write_bytes(ORTHO_XML.read_bytes().replace(b"Pott's disease", b"Pott's \xe9 disease", 1))
    return path


def _invalid_utf8_jsonl(tmp: Path) -> Path:
    lines = SCIFACT.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"RNA", b"RNA \xff", 1)
    path = tmp / "latin1.jsonl"
    path.write_bytes(b"\n".join(lines))
    return path


def _invalid_utf8_abstract_text(tmp: Path) -> Path:
    data = ABSTRACT_TEXT.read_bytes()
    path = tmp / "latin1.txt"
    path.write_bytes(data.replace(b"Molecular Pathogenesis", b"Molecular \xe9 Pathogenesis"))
    return path


def _binary(tmp: Path) -> Path:
    path = tmp / "image.xml"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.nbib"
    path.write_bytes(b"")
    return path


def _no_pmid_xml(tmp: Path) -> Path:
    path = tmp / "no-pmid.xml"
    path.write_text(
        _ortho_text().replace('<PMID Version="1">25238468</PMID>', "<PMID/>", 1), "utf-8"
    )
    return path


def _no_pmid_medline(tmp: Path) -> Path:
    text = ORTHO_NBIB.read_text(encoding="utf-8").replace("PMID- 25238468", "OWN - NLM", 1)
    path = tmp / "no-pmid.nbib"
    path.write_text(text, encoding="utf-8")
    return path


def _broken_continuation(tmp: Path) -> Path:
    lines = ORTHO_NBIB.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line.startswith("PMID- 27506154"))
    title = next(i for i in range(number, len(lines)) if lines[i].startswith("TI  - "))
    # A wrapped title line whose indentation an editor stripped.
    lines.insert(title + 1, "continued without indentation")
    path = tmp / "broken.nbib"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _huge_abstract_xml(tmp: Path) -> Path:
    text = _ortho_text()
    cut = text.index("<PubmedArticle>", text.index("<PubmedArticle>") + 1)
    huge = "<AbstractText>" + "lorem ipsum " * (BIG // 12) + "</AbstractText>"
    article = text[cut:].replace("<AbstractText", huge + "<AbstractText", 1)
    path = tmp / "huge.xml"
    path.write_text(text[:cut] + article, encoding="utf-8")
    return path


def _huge_abstract_medline(tmp: Path) -> Path:
    text = ORTHO_NBIB.read_text(encoding="utf-8")
    start = text.index("PMID- 25238468")
    huge = "AB  - " + ("lorem ipsum " * (BIG // 12)) + "\n"
    path = tmp / "huge.nbib"
    path.write_text(text[:start] + text[start:].replace("AB  - ", huge + "CI  - ", 1), "utf-8")
    return path


def _huge_abstract_wrapped(tmp: Path) -> Path:
    # As PubMed writes it: wrapped into indented continuation lines.
    text = ORTHO_NBIB.read_text(encoding="utf-8")
    start = text.index("PMID- 25238468")
    line = "      " + "lorem ipsum " * 6 + "\n"
    huge = "AB  - start\n" + line * (BIG // len(line))
    path = tmp / "huge-wrapped.nbib"
    path.write_text(text[:start] + text[start:].replace("AB  - ", huge + "CI  - ", 1), "utf-8")
    return path


def _huge_abstract_jsonl(tmp: Path) -> Path:
    lines = SCIFACT.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["text"] = "lorem ipsum " * (BIG // 12)
    lines[1] = json.dumps(record)
    path = tmp / "huge.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scifact_ids() -> list[str]:
    return [json.loads(line)["_id"] for line in SCIFACT.read_text("utf-8").splitlines()]


FIRST_TWO = tuple(ORTHO_PMIDS[:2])
ALL_BUT_SECOND = tuple(p for p in ORTHO_PMIDS if p != "25238468")

CASES: dict[str, Case] = {
    "truncated gzip": Case(
        _truncated_gz, r"line \d+: gzip file is truncated \(the compressed data ends early\)"
    ),
    "truncated XML": Case(_truncated_xml, r"line \d+: malformed XML: .+", FIRST_TWO),
    "XXE": Case(
        _xxe,
        r"record 1: uses the entity &xxe; declared in the file's DOCTYPE; such entities "
        r"are never expanded \(they can read files or exhaust memory\)",
        ORTHO_PMIDS[1:],
    ),
    "billion laughs": Case(
        _billion_laughs,
        r"line \d+: refused: the DOCTYPE declares entities that expand exponentially "
        r'\(a "billion laughs" entity bomb\)',
    ),
    "small entity bomb": Case(
        _small_bomb,
        r"record 1: uses the entity &lol3; declared in the file's DOCTYPE; such entities "
        r"are never expanded \(they can read files or exhaust memory\)",
        ORTHO_PMIDS[1:],
    ),
    "invalid UTF-8": Case(
        _invalid_utf8,
        r"line \d+: invalid UTF-8 \(byte 0xe9 at byte \d+ of the line\); "
        "the file must be UTF-8 encoded",
        tuple(p for p in ORTHO_PMIDS if p != "27506154"),
    ),
    "invalid UTF-8 (XML)": Case(
        _invalid_utf8_xml,
        r"line 29: invalid UTF-8 \(byte 0xe9 at byte 70 of the line\); "
        "the file must be UTF-8 encoded",
        ORTHO_PMIDS[1:],
    ),
    "invalid UTF-8 (JSON Lines)": Case(
        _invalid_utf8_jsonl,
        r"line 3: invalid UTF-8 \(byte 0xff at byte \d+ of the line\); "
        "the file must be UTF-8 encoded",
        tuple(_scifact_ids()[:2] + _scifact_ids()[3:]),
    ),
    "invalid UTF-8 (abstract text)": Case(
        _invalid_utf8_abstract_text,
        r"line 111: invalid UTF-8 \(byte 0xe9 at byte 11 of the line\); "
        "the file must be UTF-8 encoded",
        ("30831485", "30820436", "30818341", "30721250", "30700240", "25886032", "25565206"),
    ),
    "binary file": Case(_binary, r"file: not a recognised record format.*: the file looks binary"),
    "empty file": Case(_empty, r"file: file is empty"),
    "XML record without PMID": Case(_no_pmid_xml, r"record 2: record has no PMID", ALL_BUT_SECOND),
    "MEDLINE record without PMID": Case(
        _no_pmid_medline, r"line \d+: record has no PMID", ALL_BUT_SECOND
    ),
    "MEDLINE broken continuation line": Case(
        _broken_continuation,
        r"line \d+: neither a 'TAG - value' line nor an indented continuation line",
        tuple(p for p in ORTHO_PMIDS if p != "27506154"),
    ),
    "50 MB abstract (XML)": Case(
        _huge_abstract_xml,
        r"line \d+: refused: a text longer than 10,000,000 characters "
        r"\(no PubMed record has one\)",
        ORTHO_PMIDS[:1],
    ),
    "50 MB abstract (MEDLINE, one line)": Case(
        _huge_abstract_medline, r"line \d+: line is longer than 16,777,216 bytes", ALL_BUT_SECOND
    ),
    "50 MB abstract (MEDLINE, wrapped)": Case(
        _huge_abstract_wrapped,
        r"line \d+: record is longer than 200,000 lines",
        ALL_BUT_SECOND,
    ),
    "50 MB abstract (JSON Lines)": Case(
        _huge_abstract_jsonl,
        r"line 2: line is longer than 16,777,216 bytes",
        tuple(_scifact_ids()[:1] + _scifact_ids()[2:]),
    ),
}


def _index_with_seed(tmp_path: Path) -> Path:
    index = tmp_path / "ix"
    result = runner.invoke(app, ["ingest", str(SEED_FILE), "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    return index


def _pmids(index: Path) -> set[str]:
    with SearchIndex.open(index).searcher() as s:
        return {fields["pmid"] for fields in s.all_stored_fields()}


def _good_pmids() -> set[str]:
    return {
        line[6:].strip()
        for line in GOOD_FILE.read_text("utf-8").splitlines()
        if line.startswith("PMID- ")
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_the_rest_is_intact(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    index = _index_with_seed(tmp_path)
    bad = case.make(tmp_path)
    started = time.monotonic()
    result = runner.invoke(app, ["ingest", str(bad), str(GOOD_FILE), "--index", str(index)])
    assert time.monotonic() - started < 60
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1, result.stderr
    assert re.fullmatch(rf"skipped: {re.escape(str(bad))}, {case.reason}", skipped[0]), skipped[0]
    assert len(skipped[0]) < 400  # one readable line, not a dump of the input
    assert re.search(r" from 2 files in [\d.]+ s; 1 skipped\.", result.stderr.splitlines()[-1])
    pmids = _pmids(index)
    assert SEED_PMID in pmids
    assert _good_pmids() <= pmids
    assert set(case.kept) <= pmids
    assert "TOP-SECRET" not in str(pmids)


@pytest.mark.slow
def test_xxe_and_entity_bombs_never_reach_the_index(tmp_path: Path) -> None:
    index = _index_with_seed(tmp_path)
    for make in (_xxe, _billion_laughs):
        runner.invoke(app, ["ingest", str(make(tmp_path)), "--index", str(index)])
    result = runner.invoke(app, ["search", "root", "--format", "pmid", "--index", str(index)])
    assert result.exit_code == 0
    result = runner.invoke(app, ["show", "28748004", "-f", "json", "--index", str(index)])
    if result.exit_code == 0:  # the record may be refused, but must never hold the entity text
        assert "root:" not in result.stdout and "lollol" not in result.stdout


@pytest.mark.slow
def test_duplicate_pmids_in_one_file_the_last_wins(tmp_path: Path) -> None:
    text = _ortho_text()
    first = text.index("<PubmedArticle>")
    end = text.index("</PubmedArticle>", first) + len("</PubmedArticle>")
    changed = text[first:end].replace(
        "[Dorsolumbar cold abscess revealing Pott's disease].", "The second copy wins."
    )
    path = tmp_path / "dupes.xml"
    path.write_text(text.replace("</PubmedArticleSet>", changed + "\n</PubmedArticleSet>"), "utf-8")
    index = _index_with_seed(tmp_path)
    result = runner.invoke(app, ["ingest", str(path), "--index", str(index), "--batch-size", "2"])
    assert result.exit_code == 0, result.stderr
    assert "Added 5 and replaced 1 records from 1 file" in result.stderr  # 6 read
    shown = runner.invoke(app, ["show", "28748004", "--index", str(index)])
    assert "The second copy wins." in shown.stdout
    assert len(SearchIndex.open(index)) == 1 + len(ORTHO_PMIDS)


def test_directory_with_unreadable_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "exports"
    (folder / "locked-dir").mkdir(parents=True)
    (folder / "a-good.nbib").write_bytes(GOOD_FILE.read_bytes())
    (folder / "b-locked.xml").write_bytes(ORTHO_XML.read_bytes())
    (folder / "c-dangling.xml").symlink_to(tmp_path / "gone.xml")
    (folder / "d-seed.txt").write_bytes(SEED_FILE.read_bytes())
    os.mkfifo(folder / "e-pipe.xml")
    # Root reads any file, so the permission errors are raised here, as the OS would.
    real_open, real_iterdir = Path.open, Path.iterdir

    def open_(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.name == "b-locked.xml":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type,call-overload]

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self.name == "locked-dir":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "open", open_)
    monkeypatch.setattr(Path, "iterdir", iterdir)
    index = tmp_path / "ix"
    result = runner.invoke(app, ["ingest", str(folder), "--index", str(index)])
    assert result.exit_code == 1
    assert result.stdout == ""
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped:")]
    assert skipped == [
        f"skipped: {folder / 'b-locked.xml'}, file: permission denied",
        f"skipped: {folder / 'c-dangling.xml'}, file: broken symbolic link (its target "
        "does not exist)",
        f"skipped: {folder / 'e-pipe.xml'}, file: not a regular file (a pipe, socket or device)",
        f"skipped: {folder / 'locked-dir'}, file: permission denied (cannot list the directory)",
    ]
    monkeypatch.undo()
    assert _pmids(index) == _good_pmids() | {SEED_PMID}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their permissions")
def test_unreadable_file_for_real(tmp_path: Path) -> None:
    locked = tmp_path / "locked.xml"
    locked.write_bytes(ORTHO_XML.read_bytes())
    locked.chmod(0)
    result = runner.invoke(
        app, ["ingest", str(locked), str(SEED_FILE), "--index", str(tmp_path / "ix")]
    )
    assert result.exit_code == 1
    assert f"skipped: {locked}, file: permission denied" in result.stderr
    assert _pmids(tmp_path / "ix") == {SEED_PMID}


@pytest.mark.slow
def test_hostile_inputs_through_a_real_process(tmp_path: Path) -> None:
    bad = [_truncated_gz(tmp_path), _billion_laughs(tmp_path), _binary(tmp_path)]
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix")}
    run = subprocess.run(
        [_searchkit_exe(), "ingest", *map(str, bad), str(SEED_FILE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert [line.split(",")[0] for line in run.stderr.splitlines() if "skipped:" in line] == [
        f"skipped: {path}" for path in bad
    ]
    assert SEED_PMID in _pmids(tmp_path / "ix")


def _jsonl_with_wrong_values(tmp: Path) -> tuple[Path, dict[int, str], list[str]]:
    """Real records as JSON Lines, every other line given a value of the wrong type or
    range (issue 16); returns the file, the reason expected per bad line, and the
    PMIDs of the good lines."""
    from searchkit.readers import read_file
    from searchkit.records import Record

    records = [item for item in read_file(ORTHO_XML) if isinstance(item, Record)]
    wrong = [
        ({"year": 70000}, "year 70000 is out of range (1000 to 9999)"),
        ({"year": -1}, "year -1 is out of range (1000 to 9999)"),
        ({"mesh": [{"name": 5}]}, "mesh[0].name must be a string, not 5"),
        ({"authors": [{"name": None}]}, "authors[0].name must be a string, not null"),
    ]
    lines: list[str] = []
    reasons: dict[int, str] = {}
    good: list[str] = []
    for number, record in enumerate(records, start=1):
        data = record.to_dict()
        if number % 2 == 0 and wrong:
            change, reasons[number] = wrong.pop(0)
            data.update(change)
        else:
            good.append(record.pmid)
        lines.append(json.dumps(data))
    for change, reason in wrong:  # more bad lines than records: add them at the end
        lines.append(json.dumps({**records[0].to_dict(), "pmid": "1", **change}))
        reasons[len(lines)] = reason
    path = tmp / "wrong-values.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, reasons, good


@pytest.mark.slow
def test_jsonl_values_of_the_wrong_type_or_range_skip_only_their_lines(tmp_path: Path) -> None:
    index = _index_with_seed(tmp_path)
    bad, reasons, good = _jsonl_with_wrong_values(tmp_path)
    result = runner.invoke(app, ["ingest", str(bad), str(GOOD_FILE), "--index", str(index)])
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped:")]
    assert skipped == [
        f"skipped: {bad}, line {number}: {reason}" for number, reason in sorted(reasons.items())
    ]
    assert f"{len(reasons)} skipped" in result.stderr.splitlines()[-1]
    pmids = _pmids(index)
    assert {SEED_PMID, *good} | _good_pmids() <= pmids
    assert "1" not in pmids


@pytest.mark.slow
def test_jsonl_wrong_values_in_a_real_process(tmp_path: Path) -> None:
    bad, reasons, good = _jsonl_with_wrong_values(tmp_path)
    run = subprocess.run(
        [_searchkit_exe(), "ingest", str(bad), "--index", str(tmp_path / "ix")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert [line for line in run.stderr.splitlines() if line.startswith("skipped:")] == [
        f"skipped: {bad}, line {number}: {reason}" for number, reason in sorted(reasons.items())
    ]
    assert _pmids(tmp_path / "ix") == set(good)


SAMPLE_NBIB = SAMPLE_DIR / "p1m-ortho_qs-global-ortho-search-queries__citations.nbib"
SAMPLE_XML = SAMPLE_DIR / "mokztk_pubmed-parser__CPFE.xml.gz"


@pytest.mark.slow
def test_one_invalid_byte_loses_only_its_record_in_a_real_process(tmp_path: Path) -> None:
    """Issue 16: one byte that is not UTF-8 in record 21 of a MEDLINE export, or in
    line 11 of JSON Lines, used to end the file there (20 of 199 and 10 of 49 good
    records kept) while the summary said "1 skipped". Here 60 and 30 records."""
    from searchkit.readers import read_file
    from searchkit.records import Record

    nbib_records = SAMPLE_NBIB.read_bytes().split(b"\nPMID- ")[:61]  # [0]: before the first
    assert len(nbib_records) == 61
    nbib_records[21] = nbib_records[21].replace(b"\nTI  - ", b"\nTI  - caf\xe9 ", 1)
    nbib = tmp_path / "export.nbib"
    nbib.write_bytes(b"\nPMID- ".join(nbib_records))
    bad_nbib_line = nbib.read_bytes()[: nbib.read_bytes().index(b"caf\xe9")].count(b"\n") + 1
    records = [item for item in read_file(SAMPLE_XML) if isinstance(item, Record)][:30]
    lines = [json.dumps(record.to_dict(), ensure_ascii=False).encode() for record in records]
    lines[10] = lines[10].replace(b'"title": "', b'"title": "caf\xe9 ', 1)
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    run = subprocess.run(
        [_searchkit_exe(), "ingest", str(nbib), str(jsonl), "--index", str(tmp_path / "ix")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    reason = "invalid UTF-8 (byte 0xe9 at byte {} of the line); the file must be UTF-8 encoded"
    assert [line for line in run.stderr.splitlines() if line.startswith("skipped:")] == [
        f"skipped: {nbib}, line {bad_nbib_line}: {reason.format(10)}",
        f"skipped: {jsonl}, line 11: {reason.format(lines[10].index(b'caf') + 4)}",
    ]
    assert "Added 88 records from " in run.stderr and "; 2 skipped." in run.stderr
    pmids = _pmids(tmp_path / "ix")
    assert len(pmids) == 59 + 29
    assert records[10].pmid not in pmids and records[9].pmid in pmids
