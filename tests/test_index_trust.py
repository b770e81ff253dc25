"""Opening only what is a searchkit index of this version, and saying so in one line.

Whoosh's pickles are read through a restricted unpickler (test_index_pickles.py)
and files are checked against their checksums (test_index_checksums.py); besides,
searchkit reads its own ``searchkit.json`` before Whoosh reads anything: a directory
without it is refused before any unpickling, and an index of another format version
is refused naming ``searchkit rebuild``. A damaged index is reported in one line too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.errors import IndexFormatError
from searchkit.index.schema import SCHEMA_VERSION

from .conftest import SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SEED_FILE = TEST_DATA / "page_text" / "pubmed-34572009-page.txt"

COMMANDS = [
    ["search", "cancer"],
    ["show", SEED_PMID],
    ["stats"],
    ["ingest", str(SEED_FILE)],
]


def _one_error_line(args: list[str], index: Path, *expected: str) -> str:
    result = runner.invoke(app, [*args, "--index", str(index)])
    assert result.exit_code == 1, (args, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    assert runner.invoke(app, ["ingest", str(SEED_FILE), "--index", str(path)]).exit_code == 0
    return path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_directory_that_is_not_an_index_is_refused(tmp_path: Path, args: list[str]) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0 not an index")
    # A planted pickle where Whoosh would look for the TOC: never unpickled,
    # because searchkit.json is checked first.
    (folder / "_MAIN_1.toc").write_bytes(b"cos\nsystem\n(S'touch planted'\ntR.")
    line = _one_error_line(args, folder, str(folder), "is not a searchkit index")
    assert "--index" in line or "cannot create an index" in line
    assert sorted(p.name for p in folder.iterdir()) == ["_MAIN_1.toc", "holiday.jpg"]


def test_a_file_given_as_the_index_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("hello", encoding="utf-8")
    _one_error_line(["search", "cancer"], file, f"{file} is not a searchkit index")
    _one_error_line(["ingest", str(SEED_FILE)], file, "not an empty directory")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_schema_version_mismatch_is_reported(index: Path, args: list[str]) -> None:
    meta_path = index / "searchkit.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["schema_version"] = SCHEMA_VERSION + 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    before = sorted(p.name for p in index.iterdir())
    _one_error_line(
        args,
        index,
        f"has format version {SCHEMA_VERSION + 1}",
        f"reads version {SCHEMA_VERSION}",
        f"searchkit rebuild --index {index}",
    )
    assert sorted(p.name for p in index.iterdir()) == before  # nothing was written


@pytest.mark.parametrize(
    "damage",
    ["truncated TOC", "garbage TOC", "truncated segment", "no TOC", "bad metadata"],
)
@pytest.mark.slow
def test_a_damaged_index_is_one_clear_line(index: Path, damage: str) -> None:
    toc = next(index.glob("_MAIN_*.toc"))
    segment = next(index.glob("*.seg"))
    if damage == "truncated TOC":
        toc.write_bytes(toc.read_bytes()[:100])
    elif damage == "garbage TOC":
        toc.write_bytes(bytes(range(256)) * 8)
    elif damage == "truncated segment":
        segment.write_bytes(segment.read_bytes()[:1000])
    elif damage == "no TOC":
        toc.unlink()
    else:
        (index / "searchkit.json").write_text("{not json", encoding="utf-8")
    for args in COMMANDS:
        _one_error_line(args, index, str(index))


def test_damaged_index_message_names_the_fix(index: Path) -> None:
    segment = next(index.glob("*.seg"))
    segment.write_bytes(segment.read_bytes()[:1000])
    with pytest.raises(IndexFormatError, match=r"is damaged .*searchkit rebuild --index"):
        SearchIndex.open(index)


@pytest.mark.slow
def test_refusals_through_a_real_process(tmp_path: Path, index: Path) -> None:
    meta_path = index / "searchkit.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["schema_version"] = 0
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    not_index = tmp_path / "not-an-index"
    shutil.copytree(TEST_DATA / "medline", not_index)
    for target, expected in ((index, "format version 0"), (not_index, "not a searchkit index")):
        run = subprocess.run(
            [_searchkit_exe(), "search", "cancer"],
            capture_output=True,
            text=True,
            env={**os.environ, "SEARCHKIT_INDEX": str(target)},
            check=False,
        )
        assert run.returncode == 1
        assert run.stdout == ""
        assert run.stderr.count("\n") == 1 and expected in run.stderr
        assert "Traceback" not in run.stderr
