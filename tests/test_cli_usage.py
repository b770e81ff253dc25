"""The command line as a Unix tool: usage errors in two lines, -h everywhere, help
without raw placeholders and with an example, shell completion."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from tests.test_cli import _searchkit_exe

runner = CliRunner()

COMMANDS = [
    "ingest",
    "rebuild",
    "check",
    "delete",
    "sources",
    "optimize",
    "search",
    "history",
    "strategy",
    "similar",
    "show",
    "stats",
    "embed",
    "eval",
    "analyze",
    "acronyms",
    "mesh load",
    "mesh show",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_searchkit_exe(), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "80"},
    )


@pytest.mark.parametrize(
    ("args", "command", "error"),
    [
        (["search", "cancer", "--frob"], "searchkit search", "Error: No such option: --frob"),
        (["search"], "searchkit search", "Error: Missing argument 'QUERY'."),
        (["show", "1", "-f", "yaml"], "searchkit show", "Error: Invalid value for '--format'"),
        (["ingest", "x", "--procs", "many"], "searchkit ingest", "Error: Invalid value for"),
        (["mesh", "show"], "searchkit mesh show", "Error: Missing argument 'HEADING'."),
        (["serch", "cancer"], "searchkit", "Error: No such command 'serch'"),
    ],
)
@pytest.mark.slow
def test_a_usage_error_is_an_error_line_and_a_hint(
    args: list[str], command: str, error: str
) -> None:
    done = _run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith(error), lines[0]
    assert lines[1] == f"Try '{command} -h' for help."


@pytest.mark.slow
def test_an_unknown_command_suggests_the_near_one() -> None:
    done = _run("serch", "cancer")
    assert "Did you mean 'search'?" in done.stderr.splitlines()[0]


@pytest.mark.parametrize("command", ["", *COMMANDS, "mesh"])
def test_dash_h_is_help(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "-h"], prog_name="searchkit")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: searchkit {command}".replace("  ", " ").rstrip())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_text_with_an_example(command: str) -> None:
    text = runner.invoke(app, [*command.split(), "--help"], prog_name="searchkit").stdout
    assert "\x1b" not in text and "╭" not in text
    assert not re.search(r"<(bool|str|int|float|path)[^>]*>|\{\w+\}|\\\[", text), text
    example = re.search(r"^\s*Examples:", text, flags=re.M)
    assert example, f"no example in 'searchkit {command} --help'"
    assert f"searchkit {command} " in text[example.start() :]


def _complete(words: str) -> list[str]:
    """What bash completion offers for the command line ``words`` (cursor at its end)."""
    env = {
        **os.environ,
        "_SEARCHKIT_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = subprocess.run([_searchkit_exe()], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.slow
def test_shell_completion_of_commands_formats_and_field_tags() -> None:
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout
    assert {"search", "sources", "show", "similar", "stats", "strategy"} <= set(
        _complete("searchkit s")
    )
    assert set(_complete("searchkit search cancer --format ")) == {
        "table",
        "json",
        "jsonl",
        "csv",
        "pmid",
        "medline",
        "ris",
    }
    assert {"cancer[ti]", "cancer[tiab]", "cancer[title]"} <= set(
        _complete("searchkit search cancer[ti")
    )
    assert "cancer[au]" not in _complete("searchkit search cancer[ti")
    assert {"pmid,title", "pmid,year"} <= set(_complete("searchkit search x --fields pmid,"))
