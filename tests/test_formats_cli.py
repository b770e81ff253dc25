"""Every ``--format`` a command offers works in it and differs from the others;
machine formats parse; human output piped is free of escape codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from searchkit import SearchIndex, ingest
from searchkit.cli import app
from tests.conftest import SAMPLE_DIR, SEED_PMID
from tests.test_cli import _searchkit_exe

runner = CliRunner()

FILES = [
    SAMPLE_DIR / "pubmed-34572009-page.txt",
    SAMPLE_DIR / "mokztk_pubmed-parser__pubmed_result.xml.gz",
]


@pytest.fixture(scope="module")
def small_ix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("formats") / "ix"
    with SearchIndex.create(path) as ix:
        assert ingest(FILES, ix).ok
    assert runner.invoke(app, ["search", "cancer", "--index", str(path)]).exit_code == 0
    return path


def _format_choices(command: str) -> list[str]:
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    option = next(p for p in cmd.params if "--format" in getattr(p, "opts", ()))
    return [str(getattr(c, "value", c)) for c in option.type.choices]


def _valid(fmt: str, text: str) -> bool:
    lines = text.splitlines()
    if fmt == "json":
        json.loads(text)
        return True
    if fmt == "jsonl":
        return all(isinstance(json.loads(line), dict) for line in lines)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        return len(rows) >= 2 and len({len(r) for r in rows}) == 1
    if fmt == "pmid":
        return all(line.isdigit() for line in lines)
    if fmt == "medline":
        return "PMID- " in text
    if fmt == "ris":
        return "TY  - " in text and "ER  - " in text
    try:
        json.loads(text)
    except ValueError:
        return True  # human text, not JSON
    return False


COMMANDS = {
    "search": ["search", "cancer"],
    "similar": ["similar", SEED_PMID],
    "show": ["show", SEED_PMID],
    "sources": ["sources"],
    "stats": ["stats"],
    "history": ["history"],
    "analyze": ["analyze", "PD-L1 and TNF-alpha"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_offered_format_works_and_differs(command: str, small_ix: Path) -> None:
    outputs: dict[str, str] = {}
    for fmt in _format_choices(command):
        where = [] if command == "analyze" else ["--index", str(small_ix)]
        result = runner.invoke(app, [*COMMANDS[command], "--format", fmt, *where])
        assert result.exit_code == 0, (fmt, result.stderr)
        assert result.stdout.strip(), (command, fmt, result.stderr)
        assert _valid(fmt, result.stdout), (command, fmt, result.stdout)
        outputs[fmt] = result.stdout
    same = [(a, b) for a in outputs for b in outputs if a < b and outputs[a] == outputs[b]]
    assert same == [], f"{command}: formats with the same output: {same}"


@pytest.mark.slow
def test_human_output_piped_has_no_escape_codes(small_ix: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    for args in (["search", "cancer"], ["show", SEED_PMID], ["search", "-h"], ["sources"]):
        done = subprocess.run(
            [_searchkit_exe(), *args, "--index", str(small_ix)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        assert "\x1b" not in done.stdout + done.stderr, args


#: The documented columns (README, "Output for scripts") of the machine formats.
DOCUMENTED = {
    ("search", "json"): ["query", "total", "partial_total", "hits"],
    ("search", "hit"): [
        "rank",
        "pmid",
        "score",
        "title",
        "year",
        "journal",
        "authors",
        "doi",
        "snippet",
        "highlights",
        "partial",
    ],
    ("search", "csv"): [
        "rank",
        "pmid",
        "score",
        "year",
        "journal",
        "title",
        "authors",
        "doi",
        "snippet",
    ],
    ("show", "json"): [
        "pmid",
        "title",
        "abstract",
        "keywords",
        "mesh",
        "authors",
        "journal",
        "journal_abbrev",
        "year",
        "pub_date",
        "doi",
        "pmcid",
        "publication_types",
        "languages",
        "volume",
        "issue",
        "pages",
        "issns",
        "entrez_date",
        "create_date",
        "mesh_date",
        "book_title",
        "publisher",
        "publisher_location",
    ],
    ("show", "csv"): ["pmid", "year", "journal", "title", "authors", "doi"],
    ("sources", "json"): [
        "path",
        "size",
        "mtime_ns",
        "sha256",
        "ingested",
        "records",
        "deletions",
        "skipped",
        "sequence",
    ],
    ("stats", "json"): [
        "index",
        "records",
        "size_bytes",
        "created",
        "updated",
        "schema_version",
        "segments",
        "deleted_copies",
        "vectors",
    ],
    ("history", "json"): ["number", "query", "count", "time"],
    ("analyze", "json"): ["pos", "term", "kind", "text"],
}


def test_machine_formats_have_the_documented_columns(small_ix: Path) -> None:
    def out(*args: str) -> str:
        where = [] if args[0] == "analyze" else ["--index", str(small_ix)]
        result = runner.invoke(app, [*args, *where])
        assert result.exit_code == 0, result.stderr
        return result.stdout

    found = json.loads(out("search", "cancer", "-f", "json"))
    assert list(found) == DOCUMENTED["search", "json"]
    assert list(found["hits"][0]) == DOCUMENTED["search", "hit"]
    first_line = out("search", "cancer", "-f", "jsonl").splitlines()[0]
    assert list(json.loads(first_line)) == DOCUMENTED["search", "hit"]
    assert (
        out("search", "cancer", "-f", "csv").splitlines()[0].split(",")
        == DOCUMENTED["search", "csv"]
    )
    assert list(json.loads(out("show", SEED_PMID, "-f", "json"))) == DOCUMENTED["show", "json"]
    assert (
        out("show", SEED_PMID, "-f", "csv").splitlines()[0].split(",") == DOCUMENTED["show", "csv"]
    )
    for fmt in ("json", "jsonl", "csv"):
        text = out("sources", "-f", fmt)
        keys = (
            list(json.loads(text)[0])
            if fmt == "json"
            else list(json.loads(text.splitlines()[0]))
            if fmt == "jsonl"
            else text.splitlines()[0].split(",")
        )
        assert keys == DOCUMENTED["sources", "json"], fmt
    assert list(json.loads(out("stats", "-f", "json"))) == DOCUMENTED["stats", "json"]
    assert list(json.loads(out("history", "-f", "json"))[0]) == DOCUMENTED["history", "json"]
    assert (
        list(json.loads(out("analyze", "PD-L1", "-f", "json"))[0]) == DOCUMENTED["analyze", "json"]
    )
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for (_command, fmt), columns in DOCUMENTED.items():
        joined = ("," if fmt == "csv" else ", ").join(columns)
        assert joined in readme, f"README does not document {joined}"
