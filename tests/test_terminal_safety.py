"""Record text never reaches the terminal as control sequences.

A record can carry escape sequences (an OSC window title, an OSC 8 hyperlink, a CSI
clear-screen, BEL, 8-bit C1 controls) and bidirectional overrides in any field, and so
can a source file's name. Human output shows them as visible symbols; JSON keeps the
exact text with them written as ``\\u`` escapes; CSV, RIS, MEDLINE and PMID lists show
the visible symbols (those formats have no escapes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.output.formats import format_table, neutralise
from searchkit.searching.search import search

from .test_cli import _searchkit_exe

runner = CliRunner()

PMID = "990001"
TITLE = "Tumour \x1b]0;pwned\x07escape \x1b[2Jcells \u202egnp.exe"
ABSTRACT = (
    "Click \x1b]8;;http://evil.example/\x1b\\here\x1b]8;;\x1b\\ now\x07\x07 and \x9b31m red "
    "\x85 next.\r overwritten tumour escape\x7f of \u2067isolates\u2069 and \x00nul."
)
RECORD = {
    "pmid": PMID,
    "title": TITLE,
    "abstract": ABSTRACT,
    "authors": [{"name": "Evil \x1b[31mA", "full_name": "Evil, \x1b[31mAlice"}],
    "journal": "J \x1b[5mBlink",
    "journal_abbrev": "J \x1b]0;t\x07B",
    "keywords": ["k\x1b[8mhidden"],
    "mesh": [{"name": "Neoplasms\u202d", "qualifiers": ["q\x1b[1m"]}],
    "publication_types": ["Review\x1b[0m"],
    "doi": "10.1/\x1b[2Jx",
    "year": 2020,
}
#: What must never be written raw: C0 controls but tab and newline, DEL, C1 controls,
#: and the bidirectional embedding, override and isolate characters.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_index(tmp_path: Path) -> Path:
    """An index of one record full of terminal escapes, read from a file whose own name
    holds an OSC sequence."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\x1b]0;x\x07.jsonl").write_text(json.dumps(RECORD) + "\n", "utf-8")
    index = tmp_path / "ix"
    result = runner.invoke(app, ["ingest", str(folder), "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    return index


def run(index: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--index", str(index)])


def assert_no_raw_controls(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters {found!r} in {text!r}"


@pytest.mark.parametrize(
    "args",
    [
        ["search", "tumour escape"],
        ["search", "tumour escape", "-f", "csv", "--fields", ",".join(
            ["pmid", "title", "abstract", "authors", "journal", "journal_abbrev", "keywords",
             "mesh", "types", "doi", "snippet"])],
        ["search", "tumour escape", "-f", "pmid"],
        ["search", "tumour escape", "-f", "medline"],
        ["search", "tumour escape", "-f", "ris"],
        ["show", PMID],
        ["show", PMID, "-f", "csv"],
        ["show", PMID, "-f", "medline"],
        ["show", PMID, "-f", "ris"],
        ["sources"],
        ["similar", PMID],
    ],
)  # fmt: skip
def test_human_and_text_formats_show_controls_visibly(hostile_index: Path, args: list[str]) -> None:
    result = run(hostile_index, *args)
    assert result.exit_code == 0, result.stderr
    assert_no_raw_controls(result.stdout)
    assert_no_raw_controls(result.stderr)


def test_text_output_shows_what_was_there(hostile_index: Path) -> None:
    # The abstract's lines, wrapped to the terminal (no indent), joined again.
    shown = run(hostile_index, "show", PMID).stdout.replace("\n", " ")
    # One visible symbol per control character: ESC ␛, BEL ␇, CR ␍, NUL ␀, DEL ␡;
    # C1 controls and bidi overrides as the replacement character.
    assert "Title:    Tumour ␛]0;pwned␇escape ␛[2Jcells \ufffdgnp.exe" in shown
    assert "␛]8;;http://evil.example/␛\\here␛]8;;␛\\ now␇␇ and \ufffd31m red" in shown
    assert "next.␍ overwritten tumour escape␡ of \ufffdisolates\ufffd and ␀nul." in shown
    sources = run(hostile_index, "sources").stdout
    assert "evil␛]0;x␇.jsonl" in sources


@pytest.mark.parametrize(
    "args",
    [
        ["show", PMID, "-f", "json"],
        ["show", PMID, "-f", "jsonl"],
        ["search", "tumour escape", "-f", "json", "--fields", "pmid,title,abstract,snippet"],
        ["search", "tumour escape", "-f", "jsonl", "--fields", "pmid,title,abstract,snippet"],
        ["sources", "-f", "json"],
    ],
)
def test_json_keeps_the_exact_text_escaped(hostile_index: Path, args: list[str]) -> None:
    result = run(hostile_index, *args)
    assert result.exit_code == 0, result.stderr
    assert_no_raw_controls(result.stdout)
    data = json.loads(result.stdout)
    if args[0] == "sources":
        assert data[0]["path"].endswith("evil\x1b]0;x\x07.jsonl")
        return
    record = data["hits"][0] if "hits" in data else data
    assert record["title"] == TITLE and record["abstract"] == ABSTRACT


def test_colored_table_keeps_its_own_highlighting_only(hostile_index: Path) -> None:
    result = search(SearchIndex.open(hostile_index), "tumour escape")
    table = format_table(result, color=True, width=200)
    assert "\x1b[1;33m" in table  # searchkit's own highlighting, on a terminal
    without_ours = table.replace("\x1b[1;33m", "").replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert_no_raw_controls(without_ours)
    assert "␛]0;pwned␇" in without_ours


def test_neutralise_is_one_symbol_per_character() -> None:
    text = "a\tb\nc\x1b[2J\x07\x85\u202e\x7f\x00\u200fd"
    out = neutralise(text)
    assert len(out) == len(text)  # highlight offsets stay right
    assert out == "a\tb\nc␛[2J␇\ufffd\ufffd␡␀\u200fd"  # a right-to-left mark is text


@pytest.mark.slow
def test_neutralise_changes_exactly_the_characters_of_its_table() -> None:
    """Every character of the Basic Multilingual Plane and beyond, alone and amid
    plain text: the same result as translating through the table (text without any
    of its characters is returned as it is, found by one search)."""
    from searchkit.output.formats import _VISIBLE

    for start in range(0, 0x110000, 0x1000):
        block = "".join(chr(c) for c in range(start, start + 0x1000) if not 0xD800 <= c < 0xE000)
        assert neutralise(block) == block.translate(_VISIBLE)
        for c in block[::0x101]:
            assert neutralise(f"plain {c} text") == f"plain {c} text".translate(_VISIBLE)
    assert neutralise("no controls at all") == "no controls at all"


def test_real_subprocess_pipes_no_escapes(hostile_index: Path) -> None:
    exe = _searchkit_exe()
    env = {**os.environ, "SEARCHKIT_INDEX": str(hostile_index)}
    for args in (["search", "tumour escape"], ["show", PMID], ["search", "tumour", "-f", "json"]):
        proc = subprocess.run([exe, *args], capture_output=True, check=False, env=env)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout.decode("utf-8")
        assert_no_raw_controls(out)
        assert PMID in out


def test_error_lines_show_controls_visibly(hostile_index: Path) -> None:
    result = run(hostile_index, "show", "1\x1b]0;x\x07")
    assert result.exit_code == 1
    assert_no_raw_controls(result.stderr)
    assert result.stderr.startswith("Error: no record with PMID 1␛]0;x␇")
