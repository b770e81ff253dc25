"""Paging through hits on the command line: ``--limit all`` for ``search`` and
``similar`` alike, and what an export says it left out with ``--offset``."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_helpers import process, run
from .conftest import SEED_PMID


def _similar_total(index: Path) -> int:
    """How many records ``similar`` counts as like the seed (its JSON's total)."""
    result = run(index, "similar", SEED_PMID, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["total"])


def test_similar_takes_limit_all(sample_index_dir: Path) -> None:
    """``similar --limit all`` was refused ("'all' is not a valid int range") while
    ``search --limit all`` worked: both take the same option."""
    total = _similar_total(sample_index_dir)
    assert total > 10
    for every in ("all", "ALL"):
        result = run(sample_index_dir, "similar", SEED_PMID, "--limit", every, "-f", "pmid")
        assert result.exit_code == 0, result.stderr
        found = result.stdout.split()
        assert len(found) == len(set(found)) == total and SEED_PMID not in found
    five = run(sample_index_dir, "similar", SEED_PMID, "-n", "5", "-f", "pmid")
    assert len(five.stdout.split()) == 5
    for bad in ("lots", "-3", "1.5"):
        refused = run(sample_index_dir, "similar", SEED_PMID, "--limit", bad)
        assert refused.exit_code == 2 and refused.stdout == "", bad
        assert "not a number of hits or 'all'" in refused.stderr


def test_similar_limit_all_through_a_real_process(sample_index_dir: Path) -> None:
    result = process(sample_index_dir, "similar", SEED_PMID, "--limit", "all", "-f", "pmid")
    assert (result.returncode, result.stderr) == (0, "")
    assert len(result.stdout.split()) == _similar_total(sample_index_dir)


def test_similar_shows_ten_by_default_in_every_format_and_says_so(
    sample_index_dir: Path,
) -> None:
    """Deliberately unlike ``search``'s exports: nearly every record shares a word with
    the seed, so ``similar`` has no natural end; its default page is 10 in every
    format, as its help and the README say."""
    for fmt in ("pmid", "csv", "jsonl", "table"):
        result = run(sample_index_dir, "similar", SEED_PMID, "-f", fmt)
        assert result.exit_code == 0, result.stderr
        lines = result.stdout.strip().splitlines()
        if fmt == "pmid" or fmt == "jsonl":
            assert len(lines) == 10, fmt
        if fmt == "csv":
            assert len(lines) == 11, fmt  # a header line
    helped = run(sample_index_dir, "similar", "-h")
    assert "'all'" in " ".join(helped.stdout.split())
    assert "default: 10 in every format" in " ".join(helped.stdout.split())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert "`similar` shows 10 in every format" in readme


def _cancer_total(index: Path) -> int:
    return int(run(index, "search", "cancer", "--count").stdout)


def test_an_offset_export_says_what_the_offset_left_out(sample_index_dir: Path) -> None:
    """``--offset 630 --limit all`` printed "note: 4 of 634 shown; --limit all for every
    hit" although --limit all was given: the offset left out the first 630."""
    total = _cancer_total(sample_index_dir)
    offset = total - 4
    tail = run(
        sample_index_dir, "search", "cancer", "--offset", str(offset), "-n", "all", "-f", "pmid"
    )
    assert tail.exit_code == 0 and len(tail.stdout.split()) == 4
    assert tail.stderr == (
        f"note: 4 of {total} shown, hits {offset + 1} to {total}: "
        f"--offset {offset} left out the first {offset}\n"
    )
    middle = run(sample_index_dir, "search", "cancer", "-n", "5", "--offset", "2", "-f", "pmid")
    assert len(middle.stdout.split()) == 5
    assert middle.stderr == (
        f"note: 5 of {total} shown, hits 3 to 7: --offset 2 left out the first 2 "
        f"and --limit 5 the last {total - 7}\n"
    )
    past = run(sample_index_dir, "search", "cancer", "--offset", str(total + 5), "-f", "pmid")
    assert past.exit_code == 0 and past.stdout == ""
    assert past.stderr == f"note: 0 of {total} shown: --offset {total + 5} is past the last hit\n"
    first = run(sample_index_dir, "search", "cancer", "-n", "5", "-f", "pmid")
    assert first.stderr == f"note: 5 of {total} shown; --limit all for every hit\n"


def test_an_offset_export_note_through_a_real_process(sample_index_dir: Path) -> None:
    total = _cancer_total(sample_index_dir)
    offset = total - 4
    result = process(
        sample_index_dir,
        "search",
        "cancer",
        "--offset",
        str(offset),
        "--limit",
        "all",
        "-f",
        "pmid",
    )
    assert result.returncode == 0 and len(result.stdout.split()) == 4
    assert "--limit all" not in result.stderr
    assert f"--offset {offset} left out the first {offset}" in result.stderr
