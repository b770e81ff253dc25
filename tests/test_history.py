"""The numbered search history of an index and ``#N`` in queries (PubMed's Advanced
Search history). Expected sets are computed from the stored records, not by the
query engine (:mod:`tests.reference_sets`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.index.history import HISTORY_FILE

from .reference_sets import having
from .test_cli import _searchkit_exe

runner = CliRunner()


@pytest.fixture
def sample(sample_index_dir: Path) -> Path:
    """The sample index, whose records the expected sets are computed from."""
    return sample_index_dir


@pytest.fixture
def index_copy(sample_index_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the sample index (its history is written)."""
    target = tmp_path / "ix"
    shutil.copytree(sample_index_dir, target)
    (target / HISTORY_FILE).unlink(missing_ok=True)
    return target


def _run(index: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [args[0], "--index", str(index), *args[1:]])
    return result.exit_code, result.stdout, result.stderr


def _search(index: Path, query: str, *options: str) -> set[str]:
    code, out, err = _run(index, "search", "-f", "pmid", "-n", "100000", *options, "--", query)
    assert code == 0, err
    return set(out.split())


@pytest.mark.slow
def test_searches_are_numbered_and_hash_n_stands_for_search_n(
    index_copy: Path, sample: Path
) -> None:
    c, t, m = (having(sample, w) for w in ("cancer", "tumor", "mice"))
    assert _search(index_copy, "cancer") == c
    assert _search(index_copy, "tumor") == t
    assert _search(index_copy, "mice") == m
    # Before: "#1 AND #2" searched the words "1" and "2".
    assert _search(index_copy, "#1 OR #2 AND #3") == (c | t) & m
    assert _search(index_copy, "#4 NOT (#1 AND #2)") == ((c | t) & m) - (c & t)
    code, out, err = _run(index_copy, "history")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["#1", "#2", "#3", "#4", "#5"]
    assert [int(line.split()[1]) for line in lines] == [
        len(c),
        len(t),
        len(m),
        len((c | t) & m),
        len(((c | t) & m) - (c & t)),
    ]
    assert lines[3].endswith("  #1 OR #2 AND #3")
    code, out, _ = _run(index_copy, "history", "--format", "json")
    entries = json.loads(out)
    assert [(e["number"], e["query"], e["count"]) for e in entries][:2] == [
        (1, "cancer", len(c)),
        (2, "tumor", len(t)),
    ]
    assert all(e["time"].endswith("+00:00") for e in entries)


def test_an_unknown_reference_is_one_error_line_with_its_position(index_copy: Path) -> None:
    code, out, err = _run(index_copy, "search", "cancer AND #7")
    assert (code, out) == (2, "")
    assert err == "Error: #7: there is no earlier search to refer to (at position 12)\n"
    _search(index_copy, "cancer")
    code, _, err = _run(index_copy, "search", "(#1 OR #2)")
    assert code == 2
    assert err == "Error: #2: there is no search #2 (earlier search: #1) (at position 8)\n"
    # Failed searches are not in the history.
    assert len(_run(index_copy, "history")[1].splitlines()) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "#1#2",
            "Error: '#1#2': a search number such as #1 stands apart: put a space or an "
            "operator after it (at position 3)\n",
        ),
        (
            "#1,#2",
            "Error: '#1,#2': a search number such as #1 stands apart: put a space or an "
            "operator after it (at position 3)\n",
        ),
        (
            "#1AND #2",
            "Error: '#1AND': a search number such as #1 stands apart: put a space or "
            "an operator after it (at position 3)\n",
        ),
        (
            "cancer OR #2x",
            "Error: '#2x': a search number such as #2 stands apart: put a space "
            "or an operator after it (at position 13)\n",
        ),
    ],
)
def test_a_reference_run_into_other_characters_is_one_error_line(
    index_copy: Path, query: str, message: str
) -> None:
    # Before: '#1#2' and '#1,#2' were searched as the words "1" and "2", '#1AND #2' as
    # the word "1and" AND #2, without a word said.
    _search(index_copy, "cancer")
    _search(index_copy, "tumor")
    code, out, err = _run(index_copy, "search", "--count", "--explain", "--", query)
    assert (code, out, err) == (2, "", message)


def test_references_in_parentheses_need_no_spaces(index_copy: Path, sample: Path) -> None:
    c, t = _search(index_copy, "cancer"), _search(index_copy, "tumor")
    assert c == having(sample, "cancer") and t == having(sample, "tumor")
    assert _search(index_copy, "(#1)AND(#2)") == c & t
    assert _search(index_copy, "(#1)OR(#2)") == c | t


def test_a_reference_run_into_other_characters_through_a_real_process(index_copy: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(index_copy)}
    for query in ("cancer", "tumor"):
        subprocess.run(
            [_searchkit_exe(), "search", "--count", query], env=env, check=True, capture_output=True
        )
    run = subprocess.run(
        [_searchkit_exe(), "search", "--count", "--", "#1#2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "Error: '#1#2': a search number such as #1 stands apart: put a "
        "space or an operator after it (at position 3)\n"
    )


@pytest.mark.slow
def test_filters_are_part_of_the_recorded_search(index_copy: Path, sample: Path) -> None:
    filtered = _search(index_copy, "cancer", "--year", "2015..2019")
    assert filtered and filtered < having(sample, "cancer")
    assert _search(index_copy, "#1") == filtered
    entries = json.loads(_run(index_copy, "history", "-f", "json")[1])
    assert entries[0]["query"] == "(cancer) AND year:2015..2019"
    assert entries[0]["count"] == entries[1]["count"] == len(filtered)


def test_clear_starts_the_numbering_again(index_copy: Path, sample: Path) -> None:
    _search(index_copy, "cancer")
    _search(index_copy, "tumor")
    code, out, err = _run(index_copy, "history", "--clear")
    assert (code, out) == (0, "")
    assert "2 searches forgotten" in err
    code, out, err = _run(index_copy, "history")
    assert (code, out) == (0, "")
    assert "No searches" in err
    assert _run(index_copy, "search", "#1")[0] == 2
    _search(index_copy, "mice")
    assert _run(index_copy, "history")[1].split()[:2] == ["#1", str(len(having(sample, "mice")))]


def test_a_history_that_cannot_be_written_is_a_note(index_copy: Path, sample: Path) -> None:
    # A directory where the history file should be: it can be neither read nor written,
    # as on a read-only index.
    (index_copy / HISTORY_FILE).mkdir()
    result = runner.invoke(app, ["search", "--index", str(index_copy), "--count", "cancer"])
    assert result.exit_code == 0
    assert result.stdout == f"{len(having(sample, 'cancer'))}\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: this search is not in the history")
    # A query that needs the history says why it cannot have it.
    result = runner.invoke(app, ["search", "--index", str(index_copy), "#1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read") and result.stderr.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only directory")
def test_a_read_only_index_still_searches(index_copy: Path) -> None:
    for path in [index_copy, *index_copy.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = runner.invoke(app, ["search", "--index", str(index_copy), "--count", "cancer"])
        assert result.exit_code == 0, result.stderr
        assert result.stderr.startswith("note: this search is not in the history")
    finally:
        index_copy.chmod(0o755)


@pytest.mark.slow
def test_concurrent_searches_keep_the_history_whole(index_copy: Path, sample: Path) -> None:
    words = ["cancer", "tumor", "mice", "stem"]
    env = {**os.environ, "SEARCHKIT_INDEX": str(index_copy)}
    procs = [
        subprocess.Popen(
            [_searchkit_exe(), "search", "--count", word],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for word in words
    ]
    counts = {}
    for word, proc in zip(words, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
        counts[word] = int(out)
    code, out, err = _run(index_copy, "history", "--format", "json")  # what they wrote
    assert code == 0, err
    entries = json.loads(out)
    assert sorted(e["number"] for e in entries) == list(range(1, len(words) + 1))
    assert {e["query"]: e["count"] for e in entries} == counts
    assert counts == {w: len(having(sample, w)) for w in words}


@pytest.mark.slow
def test_rebuild_keeps_the_history(tmp_path: Path) -> None:
    index = tmp_path / "small"
    seed = Path(__file__).resolve().parent.parent / "data" / "pubmed-34572009-page.txt"
    assert _run(index, "ingest", str(seed))[0] == 0
    assert _run(index, "search", "--count", "immune privilege")[1] == "1\n"
    code, _, err = _run(index, "rebuild")
    assert code == 0, err
    code, out, err = _run(index, "history")
    assert code == 0, err
    assert out.split()[:2] == ["#1", "1"]
    assert out.rstrip().endswith("immune privilege")
    assert _run(index, "search", "--count", "#1")[1] == "1\n"


def _entry_line(number: int, query: str, count: int) -> bytes:
    entry = {"number": number, "query": query, "count": count, "time": "2026-01-01T00:00:00+00:00"}
    return (json.dumps(entry) + "\n").encode("utf-8")


def test_a_damaged_line_is_passed_over_by_searches_and_the_listing(
    index_copy: Path, sample: Path
) -> None:
    # Bytes that are not UTF-8 (a disk error, a file edited by hand with another
    # encoding) between two searches. Before: a traceback from the search (after it
    # ran, its hits never printed) and from the listing.
    (index_copy / HISTORY_FILE).write_bytes(
        _entry_line(1, "cancer", 3) + b"\xff\xfe not a search\n" + _entry_line(2, "tumor", 4)
    )
    mice = having(sample, "mice")
    result = subprocess.run(
        [
            _searchkit_exe(),
            "search",
            "--index",
            str(index_copy),
            "-f",
            "pmid",
            "-n",
            "9999",
            "mice",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert set(result.stdout.split()) == mice
    code, out, err = _run(index_copy, "history")
    assert (code, err) == (0, "")
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["#1", "3"],
        ["#2", "4"],
        ["#3", str(len(mice))],
    ]
    assert _search(index_copy, "#3") == mice


def test_a_line_cut_short_does_not_swallow_the_next_search(index_copy: Path, sample: Path) -> None:
    # A search killed while writing its line leaves it without its end. Before: the
    # next search's line was written onto it, and neither could be read: the search
    # was lost from the history and #2 named nothing.
    (index_copy / HISTORY_FILE).write_bytes(
        _entry_line(1, "cancer", 3) + _entry_line(2, "tumor", 4)[:25]
    )
    mice = having(sample, "mice")
    assert _search(index_copy, "mice") == mice
    code, out, err = _run(index_copy, "history", "-f", "json")
    assert (code, err) == (0, "")
    assert [(e["number"], e["query"]) for e in json.loads(out)] == [(1, "cancer"), (2, "mice")]
    assert _search(index_copy, "#2") == mice


def test_the_next_number_follows_the_last_readable_line_of_a_long_history(
    index_copy: Path, sample: Path
) -> None:
    # More lines than one read from the end of the file holds, the last ones damaged:
    # the number is found by reading back from the end, past them.
    lines = b"".join(_entry_line(i, f"query {i}", i) for i in range(1, 3001))
    damaged = b"\xff" * 70_000 + b"\n" + b"{not json}\n" * 10
    (index_copy / HISTORY_FILE).write_bytes(lines + damaged)
    assert _search(index_copy, "mice") == having(sample, "mice")
    entries = json.loads(_run(index_copy, "history", "-f", "json")[1])
    assert len(entries) == 3001
    assert (entries[-1]["number"], entries[-1]["query"]) == (3001, "mice")
    assert (entries[-2]["number"], entries[-2]["query"]) == (3000, "query 3000")


@pytest.mark.parametrize("where", ["first", "between", "last"])
def test_a_line_too_long_to_be_a_search_is_passed_over_in_bounded_memory(
    index_copy: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchkit.index import history

    # Small limits, so that the long line spans several reads from the end.
    monkeypatch.setattr(history, "TAIL_BYTES", 64)
    monkeypatch.setattr(history, "MAX_LINE_BYTES", 300)
    long_line = b'{"number": 9, "query": "' + b"x" * 1000 + b'", "count": 1, "time": "t"}\n'
    before = _entry_line(1, "cancer", 3) + _entry_line(2, "tumor", 4)
    content = {
        "first": long_line + before,
        "between": _entry_line(1, "cancer", 3) + long_line + _entry_line(2, "tumor", 4),
        "last": before + long_line,
    }[where]
    (index_copy / HISTORY_FILE).write_bytes(content)
    entry = history.History(index_copy).append("mice", 5)
    assert entry.number == 3
    listed = [(e.number, e.query) for e in history.History(index_copy).entries()]
    assert listed == [(1, "cancer"), (2, "tumor"), (3, "mice")]


@pytest.mark.parametrize("extra", [0, 1])
def test_the_longest_line_is_read_alike_from_either_end(
    index_copy: Path, extra: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from searchkit.index import history

    monkeypatch.setattr(history, "TAIL_BYTES", 64)
    start, end = b'{"number": 7, "query": "', b'", "count": 1, "time": "t"}'
    monkeypatch.setattr(history, "MAX_LINE_BYTES", 200)
    # A search's line of exactly the longest length is a search, one byte longer is not,
    # whether it is read forward (the listing) or back from the end (the next number).
    line = start + b"q" * (200 - len(start) - len(end) + extra) + end
    assert len(line) == 200 + extra
    (index_copy / HISTORY_FILE).write_bytes(_entry_line(6, "cancer", 3) + line + b"\n")
    listed = [e.number for e in history.History(index_copy).entries()]
    assert listed == ([6] if extra else [6, 7])
    assert history.History(index_copy).append("mice", 5).number == (7 if extra else 8)
