"""Field semantics on a small hand-made index (authors, journals), colour, and the
main query paths as a real ``searchkit`` subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import cli
from searchkit.cli import app
from searchkit.index.searchindex import SearchIndex
from searchkit.output.formats import format_search
from searchkit.records import Author, MeshHeading, Record
from searchkit.searching.search import search

from .conftest import SEED_PMID
from .test_cli import _searchkit_exe

runner = CliRunner()

RECORDS = [
    Record(
        pmid="1",
        title="Two authors whose names meet at the boundary",
        authors=(Author("Doe Smith"), Author("J Brown")),
        journal="Journal of Things",
        journal_abbrev="J Things",
        year=2001,
    ),
    Record(
        pmid="2",
        title="A short-name author",
        authors=(Author("Smith J"),),
        year=2002,
        mesh=(MeshHeading("Neoplastic Stem Cells", major=True), MeshHeading("Mice")),
    ),
    Record(
        pmid="3",
        title="Initials and a full name",
        authors=(Author("Smith JA", "Smith, John A"), Author("Roe R")),
        journal="Cancer Research",
        journal_abbrev="Cancer Res",
        year=2003,
        mesh=(MeshHeading("Stem Cells"), MeshHeading("Neoplastic Processes")),
    ),
]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    source = folder / "records.jsonl"
    source.write_text("\n".join(json.dumps(r.to_dict()) for r in RECORDS) + "\n", "utf-8")
    result = runner.invoke(app, ["ingest", str(source), "--index", str(folder / "ix")])
    assert result.exit_code == 0, result.stderr
    return folder / "ix"


def found(index: Path, query: str) -> list[str]:
    result = runner.invoke(app, ["search", query, "-f", "pmid", "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    return sorted(result.stdout.split())


@pytest.mark.parametrize(
    ("query", "pmids"),
    [
        ("smith j[au]", ["2", "3"]),  # "Smith JA" matches "smith j", as in PubMed
        ("smith ja[au]", ["3"]),
        ("Smith, John A[au]", ["3"]),
        ("smith john[au]", ["3"]),
        ("smith jb[au]", []),
        ("smith roe[au]", []),  # never across two authors
        ("smith[au]", ["1", "2", "3"]),
        ("brown[au] OR roe[au]", ["1", "3"]),
        ("cancer res[ta]", ["3"]),
        ("Cancer Research[jour]", ["3"]),
        ("cancer[ta]", []),  # a journal is matched whole, not by one word
        ('journal:"J. Things"', ["1"]),
        ("neoplastic stem cells[mh]", ["2"]),  # a heading is matched whole
        ("stem cells[mh]", ["3"]),  # not exploded: no MeSH tree loaded
        ("stem cells[majr]", []),
        ("neoplastic stem cells[majr]", ["2"]),
        ("2002:2003[dp] NOT mice[mh]", ["3"]),
    ],
)
def test_field_semantics(small_index: Path, query: str, pmids: list[str]) -> None:
    assert found(small_index, query) == pmids


def test_journal_filter_on_the_small_index(small_index: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "smith[au]", "--journal", "J Things", "-f", "pmid", "--index", str(small_index)],
    )
    assert result.stdout.split() == ["1"]


def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, sample_index: SearchIndex
) -> None:
    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli._use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli._use_color()
    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: False, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert not cli._use_color()
    result = search(sample_index, "immune privilege", limit=1)
    coloured = format_search(result, "table", color=True)
    assert "\x1b[1;33m" in coloured
    plain = format_search(result, "table", color=False)
    assert "\x1b[" not in plain
    hit = result.hits[0]
    start, end = hit.highlights[0]
    assert f"\x1b[1;33m{hit.snippet[start:end]}\x1b[0m" in coloured


MATCH = "\x1b[1;33m"


def test_colour_mode_always_never_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    from searchkit.cli.common import ColorMode

    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: False, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._use_color(ColorMode.always)  # a flag given overrides NO_COLOR
    assert not cli._use_color(ColorMode.auto)
    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR")
    assert cli._use_color(ColorMode.auto)
    assert not cli._use_color(ColorMode.never)


@pytest.mark.parametrize("command", [["search", "immune privilege"], ["similar", SEED_PMID]])
def test_color_always_highlights_output_that_is_not_a_terminal(
    sample_index_dir: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    args = [*command, "--index", str(sample_index_dir)]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert "\x1b[" not in plain.stdout
    always = runner.invoke(app, [*args, "--color", "always"])
    assert always.exit_code == 0, always.output
    assert MATCH in always.stdout and "\x1b[1m" in always.stdout
    # The same text once the escape codes are taken out.
    stripped = always.stdout.replace(MATCH, "").replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert stripped == plain.stdout
    never = runner.invoke(app, [*args, "--color", "never"])
    assert never.stdout == plain.stdout


def test_color_always_leaves_the_machine_formats_alone(sample_index_dir: Path) -> None:
    args = ["search", "immune privilege", "--index", str(sample_index_dir), "--color", "always"]
    for fmt in ("json", "csv", "pmid", "ris", "medline"):
        result = runner.invoke(app, [*args, "-f", fmt])
        assert result.exit_code == 0, result.output
        assert "\x1b[" not in result.stdout, fmt


def test_an_unknown_color_mode_is_one_usage_line(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app, ["search", "immune", "--index", str(sample_index_dir), "--color", "sometimes"]
    )
    assert result.exit_code == 2
    assert "'sometimes' is not one of 'auto', 'always', 'never'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_color_always_through_a_pipe_as_a_subprocess(sample_index_dir: Path) -> None:
    exe = _searchkit_exe()
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    env.pop("NO_COLOR", None)

    def sk(*args: str) -> str:
        done = subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=True)
        return done.stdout

    assert "\x1b[" not in sk("search", "immune escape")  # auto: stdout is a pipe
    assert MATCH in sk("search", "immune escape", "--color", "always")
    assert MATCH in sk("similar", SEED_PMID, "--color", "always")


@pytest.mark.slow
def test_main_query_paths_as_a_subprocess(sample_index_dir: Path, tmp_path: Path) -> None:
    exe = _searchkit_exe()
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}

    def sk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=False)

    tagged = sk("search", "cancer stem cells[ti] AND privilege[ti]", "-f", "pmid")
    assert (tagged.returncode, tagged.stdout, tagged.stderr) == (0, f"{SEED_PMID}\n", "")
    count = sk("search", "2015:2019[dp]", "--count")
    assert count.returncode == 0 and int(count.stdout) > 1000
    like = sk("similar", SEED_PMID, "-n", "3", "-f", "pmid")
    assert like.returncode == 0 and len(like.stdout.split()) == 3
    assert SEED_PMID not in like.stdout.split()
    exported = sk("show", SEED_PMID, "-f", "medline")
    assert exported.stdout.startswith(f"PMID- {SEED_PMID}\n")
    bad = sk("search", '"tumor escape')
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == 'Error: unbalanced quote: this " is never closed (at position 1)\n'
    hint = sk("search", "imune escpe", "-f", "pmid")
    assert hint.returncode == 0 and hint.stdout == ""
    assert hint.stderr == 'Did you mean: "immune escape"?\n'
