"""Long commands show progress on a terminal (and only there), and their summaries
say what happened. The progress is tested through a pseudo-terminal, with the real
``searchkit`` command."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.index.ingest import PROGRESS_EVERY, IngestProgress, ingest
from tests.conftest import SAMPLE_DIR
from tests.test_cli import _searchkit_exe

runner = CliRunner()

FILES = [
    SAMPLE_DIR / "pubmed-34572009-page.txt",
    SAMPLE_DIR / "mokztk_pubmed-parser__pubmed_result.xml.gz",
]
#: A gzipped file with more records than PROGRESS_EVERY.
LARGER = SAMPLE_DIR / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.xml.gz"

pty = pytest.importorskip("pty")  # POSIX only
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run ``searchkit ARGS`` with stderr on a pseudo-terminal (stdout a pipe); its exit
    code and what the terminal received, escape sequences removed."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [_searchkit_exe(), *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    process.communicate()
    return process.returncode, ANSI.sub("", received.decode("utf-8", "replace"))


@pytest.mark.slow
def test_ingest_on_a_terminal_shows_records_rate_bytes_and_eta(tmp_path: Path) -> None:
    code, screen = _on_a_terminal(["ingest", *map(str, FILES), "--index", str(tmp_path / "ix")])
    assert code == 0, screen
    total_kb = sum(f.stat().st_size for f in FILES) / 1000
    assert f"/{total_kb:.1f} kB" in screen  # bytes read of the total
    assert re.search(r"16 records \([\d,]+/s\)", screen), screen  # records and their rate
    assert "ETA" in screen
    # The summary comes after the progress line, unchanged.
    assert re.search(r"Added 16 records from 2 files in [\d.]+ s\. Index: ", screen)


@pytest.mark.slow
def test_quiet_or_no_terminal_shows_no_progress(tmp_path: Path) -> None:
    code, screen = _on_a_terminal(
        ["ingest", *map(str, FILES), "--index", str(tmp_path / "ix"), "--quiet"]
    )
    assert code == 0
    assert "ETA" not in screen and "kB" not in screen
    assert screen.strip().startswith("Added 16 records from 2 files")
    piped = subprocess.run(
        [_searchkit_exe(), "ingest", *map(str, FILES), "--index", str(tmp_path / "ix2")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0
    assert len(piped.stderr.splitlines()) == 1 and "\x1b" not in piped.stderr
    assert piped.stderr.startswith("Added 16 records from 2 files")


@pytest.mark.slow
def test_rebuild_and_optimize_show_progress_on_a_terminal(tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")
    assert runner.invoke(app, ["ingest", *map(str, FILES), "--index", ix]).exit_code == 0
    code, screen = _on_a_terminal(["rebuild", "--index", ix])
    assert code == 0 and "rebuild" in screen and "ETA" in screen, screen
    assert "Rebuilt." in screen
    code, screen = _on_a_terminal(["optimize", "--index", ix])
    assert code == 0 and "optimize: merging the segments of" in screen, screen
    assert re.search(r"0:00:\d\d", screen)  # how long it has run


@pytest.mark.slow
def test_ingest_reports_progress_within_a_file(tmp_path: Path) -> None:
    seen: list[IngestProgress] = []
    with SearchIndex.create(tmp_path / "ix") as ix:
        report = ingest([LARGER], ix, on_progress=seen.append)
    size = LARGER.stat().st_size
    assert report.records_read > PROGRESS_EVERY
    assert seen[0] == IngestProgress(0, 1, 0, 0, size)
    assert seen[-1] == IngestProgress(1, 1, report.records_read, size, size)
    within = [p for p in seen if p.files_done == 0 and p.records]
    assert within, "no report while the file was read"
    assert all(0 < p.bytes_done < size for p in within)
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)


@pytest.mark.slow
def test_summaries_say_what_happened(tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--index", ix])
        assert result.exit_code == 0, result.stderr
        return result.stderr.strip()

    first = run("ingest", *map(str, FILES))
    assert re.fullmatch(
        rf"Added 16 records from 2 files in [\d.]+ s\. Index: {ix} \(16 records\)", first
    )
    assert "replaced" not in first and "unchanged" not in first and " 0 " not in first
    again = run("ingest", *map(str, FILES))
    assert again == (
        "Nothing to read: 2 files unchanged since ingested, not read (--force reads them "
        f"again). Index: {ix} (16 records)"
    )
    forced = run("ingest", str(FILES[0]), "--force")
    assert re.fullmatch(
        rf"No records added or changed \(1 file read in [\d.]+ s\); 1 unchanged\. Index: {ix} "
        r"\(16 records\)",
        forced,
    )
    changed = tmp_path / "changed.txt"
    changed.write_text(FILES[0].read_text().replace("Immune Privilege", "Immune Priviledge"))
    assert run("ingest", str(changed)).startswith("Replaced 1 record from 1 file in ")
