"""What ``searchkit ingest`` leaves behind when it adds nothing, and how the commands
count things: "1 record", "2 records", through CliRunner and a real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import searchkit.index.ingest as ingest_module
from searchkit import SearchIndex
from searchkit.cli import app

from .cli_helpers import searchkit_exe
from .conftest import SAMPLE_DIR, SEED_PMID

runner = CliRunner()
#: A file of one record.
ONE_RECORD = SAMPLE_DIR / "pubmed-34572009-page.txt"


def _bad(folder: Path) -> Path:
    bad = folder / "bad.xml"
    bad.write_text("garbage\n", encoding="utf-8")
    return bad


def _ingest(index: Path, *paths: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["ingest", *map(str, paths), "--index", str(index), "--quiet"])
    return result.exit_code, result.stderr


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- an ingest that adds nothing to a new index leaves nothing ------------------


def test_rejected_files_leave_no_new_index(tmp_path: Path) -> None:
    bad = _bad(tmp_path)
    code, err = _ingest(tmp_path / "ix2", bad)
    assert code == 1
    assert err.startswith(f"skipped: {bad}, file: not a recognised record format")
    assert f"Index: {tmp_path / 'ix2'} not created (no records)" in err
    # No directory, no lock file, no staging directory beside it.
    assert _entries(tmp_path) == ["bad.xml"]
    search = runner.invoke(app, ["search", "cancer", "--index", str(tmp_path / "ix2")])
    assert search.exit_code != 0
    assert search.stderr.startswith(f"Error: no index at {tmp_path / 'ix2'}")


def test_parent_directories_made_for_the_index_are_removed_too(tmp_path: Path) -> None:
    bad = _bad(tmp_path)
    code, _ = _ingest(tmp_path / "a" / "b" / "ix", bad)
    assert code == 1
    assert _entries(tmp_path) == ["bad.xml"]


def test_no_input_files_leave_no_new_index(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, err = _ingest(tmp_path / "ix", tmp_path / "empty")
    assert code == 0, err
    assert err.startswith("No input files found.")
    assert _entries(tmp_path) == ["empty"]


def test_an_empty_directory_given_is_kept_empty(tmp_path: Path) -> None:
    bad = _bad(tmp_path)
    given = tmp_path / "ix"
    given.mkdir(mode=0o750)
    given.chmod(0o750)  # whatever the umask
    code, _ = _ingest(given, bad)
    assert code == 1
    assert given.is_dir() and _entries(given) == []
    assert given.stat().st_mode & 0o777 == 0o750
    assert _entries(tmp_path) == ["bad.xml", "ix"]


def test_an_existing_index_is_left_as_it_was(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert _ingest(index, ONE_RECORD)[0] == 0
    before = _entries(index)
    code, err = _ingest(index, _bad(tmp_path))
    assert code == 1
    assert f"Index: {index} (1 record)" in err
    assert _entries(index) == before
    assert len(SearchIndex.open(index)) == 1


def test_an_existing_empty_index_is_left_as_it_was(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    SearchIndex.create(index).close()
    code, err = _ingest(index, _bad(tmp_path))
    assert code == 1
    assert f"Index: {index} (0 records)" in err
    assert SearchIndex.exists(index) and len(SearchIndex.open(index)) == 0


def test_an_interrupted_ingest_into_a_new_index_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "read_into", interrupted)
    code, err = _ingest(tmp_path / "ix", ONE_RECORD)
    assert code == 130
    # Not "the index holds what was last committed": there is no index.
    assert err == "Interrupted before anything was committed; no index was left.\n"
    assert _entries(tmp_path) == []


def test_an_index_that_cannot_be_removed_is_kept_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the directory cannot be renamed away (a file in it held open, on Windows),
    the empty index stays, as before, and the command still reports on it."""
    index = tmp_path / "ix"
    replace = os.replace

    def refusing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == index:
            raise PermissionError(13, "in use")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", refusing)
    code, err = _ingest(index, _bad(tmp_path))
    assert code == 1
    assert err.rstrip().endswith(f"Index: {index} (0 records)")
    assert "Traceback" not in err and "Error" not in err
    assert SearchIndex.exists(index)
    assert not [p for p in _entries(tmp_path) if p.startswith(".")]


def test_real_process_rejected_files_leave_no_index(tmp_path: Path) -> None:
    bad = _bad(tmp_path)
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix2")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [searchkit_exe(), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
            timeout=120,
        )

    ingest = run("ingest", "bad.xml")
    assert ingest.returncode == 1
    assert ingest.stdout == ""
    assert ingest.stderr.splitlines()[0].startswith("skipped: bad.xml, file: not a recognised")
    assert "Traceback" not in ingest.stderr
    assert _entries(tmp_path) == ["bad.xml"]
    search = run("search", "cancer")
    assert search.returncode != 0
    assert search.stderr.count("\n") == 1
    assert search.stderr.startswith("Error: no index at")
    assert bad.exists()


# -- counts: "1 record", never "1 records" or "record(s)" ---------------------------


@pytest.fixture
def one_record_index(tmp_path: Path) -> Path:
    index = tmp_path / "one"
    code, err = _ingest(index, ONE_RECORD)
    assert code == 0, err
    assert err.startswith("Added 1 record from 1 file in ")
    assert err.rstrip().endswith(f"Index: {index} (1 record)")
    return index


def _cli(index: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--index", str(index)])
    return result.exit_code, result.stdout, result.stderr


def test_plural_helper() -> None:
    from searchkit.plural import plural

    assert [plural(n, "record") for n in (0, 1, 2)] == ["0 records", "1 record", "2 records"]
    assert plural(1, "query", "queries") == "1 query"
    assert plural(3, "query", "queries") == "3 queries"
    assert plural(1234, "byte", spec=",") == "1,234 bytes"
    assert plural(1, "record", spec=">4") == "   1 record"


def test_search_footer_counts_one_hit(one_record_index: Path) -> None:
    code, out, _ = _cli(one_record_index, "search", SEED_PMID + "[pmid]")
    assert code == 0
    assert out.rstrip().endswith("\n1 of 1 matching record shown.")


def test_sources_list_counts_one_record(one_record_index: Path) -> None:
    code, out, _ = _cli(one_record_index, "sources")
    assert code == 0
    assert "       1 record  " in out and "records" not in out


def test_optimize_counts_one_segment(one_record_index: Path) -> None:
    code, _, err = _cli(one_record_index, "optimize", "--quiet")
    assert code == 0, err
    assert err.startswith(f"Optimized {one_record_index}: 1 segment merged into 1 in ")


def test_delete_counts_one_record(one_record_index: Path) -> None:
    code, _, err = _cli(one_record_index, "delete", SEED_PMID)
    assert code == 0, err
    assert err == f"1 record deleted. Index: {one_record_index} (0 records)\n"


def test_real_process_counts_one_record(tmp_path: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(tmp_path / "ix")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [searchkit_exe(), *args], capture_output=True, text=True, env=env, check=False
        )

    ingest = run("ingest", str(ONE_RECORD), "--quiet")
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stderr.startswith("Added 1 record from 1 file in ")
    assert ingest.stderr.rstrip().endswith("(1 record)")
    delete = run("delete", SEED_PMID)
    assert delete.returncode == 0, delete.stderr
    assert delete.stderr == f"1 record deleted. Index: {tmp_path / 'ix'} (0 records)\n"
