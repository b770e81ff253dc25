"""The searchkit command, through typer's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app

from .cli_helpers import searchkit_exe
from .conftest import SAMPLE_DIR, SEED_PMID, TEST_DATA

runner = CliRunner()
SEED_FILE = SAMPLE_DIR / "pubmed-34572009-page.txt"


def _searchkit_exe() -> str:
    return searchkit_exe()


@pytest.mark.slow
def test_every_command_has_help() -> None:
    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    assert {"ingest", "search", "similar", "show", "stats", "analyze", "acronyms", "eval"} <= names
    for name in sorted(names):
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("searchkit ")


def test_ingest_then_search_json(tmp_path: Path) -> None:
    index = str(tmp_path / "ix")
    result = runner.invoke(app, ["ingest", str(SEED_FILE), "--index", index])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("Added 1 record from 1 file in ")
    assert result.stdout == ""
    result = runner.invoke(
        app, ["search", "immune privilege", "--format", "json", "--index", index]
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["query"] == "immune privilege"
    assert data["total"] == 1
    assert data["hits"][0]["pmid"] == SEED_PMID
    assert data["hits"][0]["doi"] == "10.3390/cells10092361"


def test_index_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCHKIT_INDEX", str(tmp_path / "env-ix"))
    assert runner.invoke(app, ["ingest", str(SEED_FILE)]).exit_code == 0
    assert (tmp_path / "env-ix" / "searchkit.json").is_file()
    result = runner.invoke(app, ["search", "cancer stem cells", "--format", "pmid"])
    assert result.stdout.split() == [SEED_PMID]


def test_default_index_lives_in_the_user_data_dir(tmp_path: Path) -> None:
    assert runner.invoke(app, ["ingest", str(SEED_FILE)]).exit_code == 0
    assert (tmp_path / "xdg-data" / "searchkit" / "index" / "searchkit.json").is_file()


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv", "pmid"])
def test_search_formats(sample_index_dir: Path, fmt: str) -> None:
    result = runner.invoke(
        app, ["search", "cancer stem cells", "-n", "3", "-f", fmt, "--index", str(sample_index_dir)]
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if fmt == "json":
        assert len(json.loads(out)["hits"]) == 3
    elif fmt == "jsonl":
        assert [json.loads(line)["rank"] for line in out.splitlines()] == [1, 2, 3]
    elif fmt == "csv":
        assert out.splitlines()[0].startswith("rank,pmid,score")
        assert len(out.splitlines()) == 4
    elif fmt == "pmid":
        assert SEED_PMID in out.split()
        assert len(out.split()) == 3
    else:
        assert f"PMID {SEED_PMID}" in out
        assert "\x1b[" not in out  # no colour when not a terminal


def test_show_text_and_json(sample_index_dir: Path) -> None:
    result = runner.invoke(app, ["show", SEED_PMID, "--index", str(sample_index_dir)])
    assert result.exit_code == 0
    shown = " ".join(result.stdout.split())  # lines wrapped to the terminal, joined
    assert "The Immune Privilege of Cancer Stem Cells" in shown
    assert "major histocompatibility complex class I" in shown
    result = runner.invoke(app, ["show", SEED_PMID, "-f", "json", "--index", str(sample_index_dir)])
    record = json.loads(result.stdout)
    assert record["pmid"] == SEED_PMID
    assert "immune escape" in record["keywords"]


def test_stats_json(sample_index_dir: Path) -> None:
    result = runner.invoke(app, ["stats", "--format", "json", "--index", str(sample_index_dir)])
    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["records"] > 2000
    assert {"records", "size_bytes", "updated", "schema_version"} <= set(stats)


def test_stats_count_the_copies_replaced_records_leave_until_a_rewrite(tmp_path: Path) -> None:
    """A re-ingested record replaces its copy in place: the old one stays in its segment,
    marked deleted, until the segment is rewritten; ``stats`` says how many there are."""
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    index = str(tmp_path / "ix")

    def stats() -> dict[str, object]:
        result = runner.invoke(app, ["stats", "--format", "json", "--index", index])
        assert result.exit_code == 0, result.stderr
        return dict(json.loads(result.stdout))

    assert runner.invoke(app, ["ingest", str(corpus), "--index", index]).exit_code == 0
    assert (stats()["records"], stats()["deleted_copies"]) == (12, 0)
    first = json.loads(corpus.read_text("utf-8").splitlines()[0])
    revised = tmp_path / "revised.jsonl"
    revised.write_text(json.dumps({**first, "title": first["title"] + " (revised)"}) + "\n")
    assert runner.invoke(app, ["ingest", str(revised), "--index", index]).exit_code == 0
    assert (stats()["records"], stats()["deleted_copies"]) == (12, 1)
    text = runner.invoke(app, ["stats", "--index", index]).stdout
    assert "deleted copies: 1" in text.splitlines()
    assert runner.invoke(app, ["optimize", "--index", index]).exit_code == 0
    assert (stats()["records"], stats()["deleted_copies"]) == (12, 0)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["search", "cancer"], 1, "searchkit ingest"),
        (["show", "123"], 1, "searchkit ingest"),
        (["stats"], 1, "searchkit ingest"),
        (["ingest", "no/such/file.xml"], 2, "no such file"),
    ],
)
def test_missing_index_or_file_is_one_clear_line(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert message in lines[0]


def test_unknown_pmid_and_empty_query(sample_index_dir: Path) -> None:
    result = runner.invoke(app, ["show", "1", "--index", str(sample_index_dir)])
    assert result.exit_code == 1
    assert "no record with PMID 1" in result.stderr
    result = runner.invoke(app, ["search", "  ", "--index", str(sample_index_dir)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the query is empty")


def test_bad_file_is_skipped_and_good_records_committed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00\x01\x02 not a record file \xff")
    index = str(tmp_path / "ix")
    result = runner.invoke(app, ["ingest", str(SEED_FILE), str(bad), "--index", index])
    assert result.exit_code == 1
    assert f"skipped: {bad}" in result.stderr
    assert "Traceback" not in result.stderr
    assert runner.invoke(app, ["show", SEED_PMID, "--index", index]).exit_code == 0


#: A folder's worth of data/ in each format it has (MEDLINE, PubMed XML gzipped,
#: .nbib, the PubMed page), 28 records: what the main path ingests as a real process
#: (the writer processes of large batches run as real processes in test_integrity).
MAIN_PATH_FILES = [
    "pubmed-34572009-page.txt",
    "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt",
    "dennishazelett_asian_study__citations.nbib",
    "mokztk_pubmed-parser__pubmed_result.xml.gz",
    "biopython__Tests_Medline_pubmed_result2.txt",
]


@pytest.mark.slow
def test_real_subprocess_main_path(tmp_path: Path) -> None:
    exe = _searchkit_exe()
    folder = tmp_path / "records"
    folder.mkdir()
    for name in MAIN_PATH_FILES:
        shutil.copyfile(SAMPLE_DIR / name, folder / name)
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix")}
    ingest = subprocess.run(
        [exe, "ingest", str(folder)], capture_output=True, text=True, env=env, check=False
    )
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stderr.startswith("Added 28 records from 5 files in ")
    assert ingest.stdout == ""
    assert "skipped" not in ingest.stderr
    found = subprocess.run(
        [exe, "search", "immune escape", "--format", "pmid", "--limit", "3"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[0] == SEED_PMID
    module = subprocess.run(
        [sys.executable, "-m", "searchkit", "show", SEED_PMID, "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert json.loads(module.stdout)["pmid"] == SEED_PMID
    bad = subprocess.run(
        [exe, "search", "   "], capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_test_data_folder_exists() -> None:
    assert TEST_DATA.is_dir()
