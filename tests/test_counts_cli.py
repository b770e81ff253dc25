"""What `search` counts and how much it writes, on the bundled sample: counts are records
with every word of the free text (partial matches are ranked after them and labelled),
exports write every counted hit, and a filter that matches nothing says so."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from searchkit import SearchIndex
from searchkit.analysis.analyzer import text_analyzer
from searchkit.cli import app

from .conftest import SEED_PMID
from .reference_sets import analysed_records
from .test_cli import _searchkit_exe

runner = CliRunner()


def run(index: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--index", str(index)])


def index_terms(text: str) -> set[str]:
    return {t.text for t in text_analyzer()(text)}


def with_every_word(index: Path, query: str) -> set[str]:
    """Computed here, not by the engine: the records whose text has every word of
    ``query`` (as the analyzer makes index terms of them), or a short form learned for
    the query as a whole (``CSCs`` for "cancer stem cells")."""
    wanted = index_terms(query)
    table = SearchIndex.open(index).acronyms
    shorts = {
        sf
        for sf, forms in table.counts.items()
        if any(index_terms(lf) == wanted for lf in forms) and len(index_terms(sf)) == 1
    }
    short_terms = set().union(*(index_terms(sf) for sf in shorts)) if shorts else set()
    found = set()
    for r in analysed_records(index):  # title, abstract, keywords and MeSH headings
        terms = r.terms()
        if wanted <= terms or terms & short_terms:
            found.add(r.pmid)
    return found


@pytest.mark.slow
def test_count_is_the_records_with_every_word(sample_index_dir: Path) -> None:
    query = "cancer stem cells"
    expected = with_every_word(sample_index_dir, query)
    assert 5 < len(expected) < 40  # of ~1,000 records with one of the words
    result = run(sample_index_dir, "search", query, "--count")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{len(expected)}\n"
    exported = run(sample_index_dir, "search", query, "-f", "pmid")
    assert sorted(exported.stdout.split()) == sorted(expected)
    table = run(sample_index_dir, "search", query, "-n", "3")
    assert f"3 of {len(expected)} matching records shown." in table.stdout


def test_words_of_a_typed_acronym_count_as_the_acronym(sample_index_dir: Path) -> None:
    # The seed article says "major histocompatibility complex", never "MHC".
    found = json.loads(run(sample_index_dir, "search", "immune escape MHC", "-f", "json").stdout)
    assert found["hits"][0]["pmid"] == SEED_PMID
    assert found["hits"][0]["partial"] is False


@pytest.mark.slow
def test_partial_matches_follow_the_counted_ones_labelled(sample_index_dir: Path) -> None:
    query = "cancer stem cells"
    n = len(with_every_word(sample_index_dir, query))
    table = run(sample_index_dir, "search", query, "-n", str(n + 5))
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    ranks = [line.split(".")[0].strip() for line in lines if ". PMID " in line]
    assert ranks == [str(i) for i in range(1, n + 6)]
    separator = lines.index("— partial matches (not counted) —")
    assert sum(". PMID " in line for line in lines[:separator]) == n
    assert lines[-1].startswith(f"{n} of {n} matching records shown, then 5 of ")
    assert lines[-1].endswith(" partial matches (not counted).")
    data = json.loads(run(sample_index_dir, "search", query, "-n", str(n + 5), "-f", "json").stdout)
    assert data["total"] == n and data["partial_total"] > 500
    assert [h["partial"] for h in data["hits"]] == [False] * n + [True] * 5
    # Exports hold the counted records only.
    jsonl = run(sample_index_dir, "search", query, "-f", "jsonl", "-n", "all").stdout
    assert [json.loads(line)["partial"] for line in jsonl.splitlines()] == [False] * n


def test_an_empty_export_says_that_records_have_some_of_the_words(
    sample_index_dir: Path,
) -> None:
    query = "hepatocellular carcinoma zebrafish"
    table = run(sample_index_dir, "search", query).stdout.splitlines()
    partial = int(table[-1].split(" of ")[2].split()[0])
    assert table[-1].startswith("0 of 0 matching records shown, then 10 of ") and partial > 10
    result = run(sample_index_dir, "search", query, "-f", "pmid")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == (
        f"note: no record has all the words; {partial} have some of them "
        "(--format table or json ranks them)\n"
    )


@pytest.mark.slow
def test_machine_formats_write_every_hit(sample_index_dir: Path) -> None:
    total = int(run(sample_index_dir, "search", "cancer", "--count").stdout)
    assert total > 300
    for fmt, per_hit in (("pmid", None), ("medline", "PMID- "), ("ris", "ER  - "), ("csv", None)):
        result = run(sample_index_dir, "search", "cancer", "-f", fmt)
        assert result.exit_code == 0 and result.stderr == "", (fmt, result.stderr)
        if per_hit is not None:
            assert result.stdout.count(per_hit) == total, fmt
        else:
            lines = result.stdout.splitlines()
            assert len(lines) == total + (fmt == "csv"), fmt  # csv: a header line
    assert (
        len(run(sample_index_dir, "search", "cancer", "-f", "jsonl").stdout.splitlines()) == total
    )
    # Pages stay pages (JSON says the total), and a cut export says so.
    page = run(sample_index_dir, "search", "cancer", "-f", "json")
    assert len(json.loads(page.stdout)["hits"]) == 10 and page.stderr == ""
    cut = run(sample_index_dir, "search", "cancer", "-f", "pmid", "-n", "5", "--offset", "2")
    assert len(cut.stdout.split()) == 5
    assert cut.stderr == (
        f"note: 5 of {total} shown, hits 3 to 7: --offset 2 left out the first 2 "
        f"and --limit 5 the last {total - 7}\n"
    )


@pytest.mark.slow
def test_limit_all_for_any_format(sample_index_dir: Path) -> None:
    total = int(run(sample_index_dir, "search", "cancer", "--count").stdout)
    table = run(sample_index_dir, "search", "cancer", "--limit", "all")
    assert table.exit_code == 0, table.stderr
    assert table.stdout.count(". PMID ") == total
    assert table.stdout.endswith(f"{total} of {total} matching records shown.\n")
    data = json.loads(run(sample_index_dir, "search", "cancer", "-n", "ALL", "-f", "json").stdout)
    assert len(data["hits"]) == total
    for bad in ("lots", "-3", "1.5"):
        result = run(sample_index_dir, "search", "cancer", "--limit", bad)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"Error: --limit: {bad!r} is not a number of hits or 'all'\n"


@pytest.mark.slow
def test_export_of_every_hit_in_a_real_process(sample_index_dir: Path) -> None:
    """The export and the message of a filter that matches nothing, each as a real
    process (the counts they are checked against come in-process)."""
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    exe = _searchkit_exe()
    count = int(run(sample_index_dir, "search", "cancer stem cells", "--count").stdout)
    listed = subprocess.run(
        [exe, "search", "cancer stem cells", "--format", "pmid"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.split()) == count > 5
    assert listed.stderr == ""
    total = int(run(sample_index_dir, "search", "cancer", "--count").stdout)
    filtered = subprocess.run(
        [exe, "search", "cancer", "--journal", "Nature Foo"], capture_output=True, env=env
    )
    assert filtered.returncode == 0 and filtered.stdout == b""
    assert filtered.stderr.decode() == (
        f"No records match --journal 'Nature Foo' (the query alone matches {total}).\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--journal", "Nature Foo"], "No records match --journal 'Nature Foo'"),
        (["--type", "Nonsense Report"], "No records match --type 'Nonsense Report'"),
        (["--year", "1800..1801"], "No records match --year 1800..1801"),
        (
            ["--journal", "Cancer", "--year", "2019"],
            "No records match --year 2019 with --journal 'Cancer'",
        ),
    ],
)
def test_a_filter_that_matches_nothing_is_named(
    sample_index_dir: Path, options: list[str], message: str
) -> None:
    total = int(run(sample_index_dir, "search", "cancer", "--count").stdout)
    result = run(sample_index_dir, "search", "cancer", *options)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"{message} (the query alone matches {total}).\n"


def test_a_query_that_matches_nothing_is_still_the_query(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "xylophonist", "--journal", "Cancer")
    assert result.stderr.splitlines()[-1] == "No records match 'xylophonist'."
