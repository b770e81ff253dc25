"""``searchkit strategy FILE``: a multi-line search strategy, its report and its final
set. Expected sets are computed from the stored records (:mod:`tests.reference_sets`)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app

from .reference_sets import analysed_records, having
from .test_cli import _searchkit_exe

runner = CliRunner()

STRATEGY = """\
# Strategy for a PRISMA-S appendix (comment lines start with '#' and no digit)
cancer
tumor

mice
#1 OR #2
#4 AND #3
"""


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    path = tmp_path / "strategy.txt"
    path.write_text(STRATEGY, encoding="utf-8")
    return path


def _strategy(index: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["strategy", "--index", str(index), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_runs_each_line_and_exports_the_last_set(
    sample_index_dir: Path, strategy_file: Path
) -> None:
    c, t, m = (having(sample_index_dir, w) for w in ("cancer", "tumor", "mice"))
    code, out, err = _strategy(sample_index_dir, str(strategy_file))
    assert code == 0, err
    assert set(out.split()) == (c | t) & m
    assert len(out.split()) == len((c | t) & m)  # each record once
    report = err.splitlines()
    assert report[0] == f"Search strategy: {strategy_file}"
    assert re.fullmatch(r"Run: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 \(searchkit .+\)", report[1])
    total = len(analysed_records(sample_index_dir))
    assert report[2] == f"Index: {sample_index_dir} ({total} records)"
    rows = [line.split(None, 2) for line in report if line.startswith("#")]
    assert rows == [
        ["#1", str(len(c)), "cancer"],
        ["#2", str(len(t)), "tumor"],
        ["#3", str(len(m)), "mice"],
        ["#4", str(len(c | t)), "#1 OR #2"],
        ["#5", str(len((c | t) & m)), "#4 AND #3"],
    ]
    assert report[-1] == f"Final set: #5, {len((c | t) & m)} records"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["medline", "ris", "csv", "json", "jsonl"])
def test_final_set_formats_and_files(
    sample_index_dir: Path, strategy_file: Path, tmp_path: Path, fmt: str
) -> None:
    expected = (having(sample_index_dir, "cancer") | having(sample_index_dir, "tumor")) & having(
        sample_index_dir, "mice"
    )
    out_file, report_file = tmp_path / f"final.{fmt}", tmp_path / "report.txt"
    code, out, err = _strategy(
        sample_index_dir,
        str(strategy_file),
        "--format",
        fmt,
        "--output",
        str(out_file),
        "--report",
        str(report_file),
    )
    assert (code, out, err) == (0, "", "")
    text = out_file.read_text("utf-8")
    if fmt == "medline":
        found = set(re.findall(r"^PMID- (\S+)$", text, re.M))
    elif fmt == "ris":
        found = {line.split(None, 2)[2] for line in text.splitlines() if line.startswith("AN  -")}
    elif fmt == "csv":
        found = {row["pmid"] for row in csv.DictReader(io.StringIO(text))}
    elif fmt == "json":
        data = json.loads(text)
        assert data["total"] == len(expected)
        found = {hit["pmid"] for hit in data["hits"]}
    else:
        found = {json.loads(line)["pmid"] for line in text.splitlines()}
    assert found == expected
    assert report_file.read_text("utf-8").endswith(f"Final set: #5, {len(expected)} records\n")


@pytest.mark.slow
def test_numbered_lines_are_checked(sample_index_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "numbered.txt"
    path.write_text("1. cancer\n2. mice\n3. #1 AND #2\n", encoding="utf-8")
    code, out, err = _strategy(sample_index_dir, str(path))
    assert code == 0, err
    expected = having(sample_index_dir, "cancer") & having(sample_index_dir, "mice")
    assert set(out.split()) == expected
    assert f"#3    {len(expected):>3}  #1 AND #2" in err
    path.write_text("1. cancer\n3. mice\n", encoding="utf-8")
    code, out, err = _strategy(sample_index_dir, str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"Error: {path}, line 2: numbered 3, but it is search 2 (searches are numbered "
        "in the order of their lines)\n"
    )


@pytest.mark.slow
def test_lines_labelled_with_their_own_search_number(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A strategy copied from a review's appendix or PubMed's history labels each line
    ``#N`` (a search never refers to itself, so its own number is its label), with
    PubMed's filters and date range forms in it."""
    path = tmp_path / "labelled.txt"
    path.write_text(
        "#1 cancer\n"
        "#2\tmice OR tumor\n"
        "#3 #1 AND #2\n"
        '#4 #3 AND (english[Filter]) AND ("2000/01/01"[Date - Publication] : "3000"[dp])\n',
        encoding="utf-8",
    )
    code, out, err = _strategy(sample_index_dir, str(path))
    assert code == 0, err
    plain = tmp_path / "plain.txt"
    plain.write_text(
        "cancer\nmice OR tumor\n#1 AND #2\n#3 AND english[la] AND 2000:3000[dp]\n",
        encoding="utf-8",
    )
    code, expected, plain_err = _strategy(sample_index_dir, str(plain))
    assert code == 0, plain_err
    c, m, t = (having(sample_index_dir, w) for w in ("cancer", "mice", "tumor"))
    assert set(out.split()) == set(expected.split()) and 0 < len(set(out.split())) < len(
        c & (m | t)
    )
    assert f"#3    {len(c & (m | t)):>3}  #1 AND #2" in err
    one = tmp_path / "one.txt"
    one.write_text(f"#1 {sorted(c)[0]}[pmid]\n", encoding="utf-8")
    code, out, err = _strategy(sample_index_dir, str(one))
    assert (code, out.split()) == (0, [sorted(c)[0]])
    assert err.endswith("Final set: #1, 1 record\n")


def test_lines_labelled_with_pubmed_history_numbers_that_skip(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """PubMed's history keeps its numbers when searches are dropped from a strategy
    (#3, #7, #9): a leading #N above the number of the search before it is the line's
    label (a reference names an earlier search, which has a smaller number), and the
    report numbers the searches as PubMed did."""
    path = tmp_path / "history.txt"
    path.write_text("#3 cancer\n#7 mice OR tumor\n#9 #3 AND #7\n#7 AND english[la]\n", "utf-8")
    code, out, err = _strategy(sample_index_dir, str(path))
    assert code == 0, err
    c, m, t = (having(sample_index_dir, w) for w in ("cancer", "mice", "tumor"))
    plain = tmp_path / "plain.txt"
    plain.write_text("cancer\nmice OR tumor\n#1 AND #2\n#2 AND english[la]\n", "utf-8")
    code, expected, plain_err = _strategy(sample_index_dir, str(plain))
    assert code == 0, plain_err
    assert set(out.split()) == set(expected.split()) and len(set(out.split())) > 0
    assert f"#9    {len(c & (m | t)):>3}  #3 AND #7" in err
    assert f"#10   {len(set(out.split())):>3}  #7 AND english[la]" in err
    assert err.endswith(f"Final set: #10, {len(set(out.split()))} records\n")
    path.write_text("#3 cancer\n#7 mice\n#9 #4 AND #7\n", "utf-8")
    code, out, err = _strategy(sample_index_dir, str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"Error: {path}, line 3: #4: there is no search #4 (earlier searches: #3, #7) "
        "(at position 4)\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cancer\n\n#1 AND (mice\n", "line 3: unbalanced '(': no ')' after it (at position 8)"),
        ("cancer\n#1 OR #2\n", "line 2: #2: there is no search #2 (earlier search: #1) "
         "(at position 7)"),
        ("2. cancer\n", "line 1: numbered 2, but it is search 1"),
        ("1. cancer\n2. mice AND\n", "line 2: 'AND' at the end of the query needs a term "
         "after it (at position 9)"),
        ("# only a comment\n\n", "no searches in the file"),
    ],
)  # fmt: skip
def test_a_bad_line_is_one_error_line(
    sample_index_dir: Path, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    code, out, err = _strategy(sample_index_dir, str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"Error: {path}")
    assert message in err


def test_missing_file_is_one_error_line(sample_index_dir: Path, tmp_path: Path) -> None:
    code, out, err = _strategy(sample_index_dir, str(tmp_path / "nope.txt"))
    assert (code, out, err) == (2, "", f"Error: {tmp_path / 'nope.txt'}: no such file\n")


@pytest.mark.slow
def test_strategy_through_a_real_process(sample_index_dir: Path, strategy_file: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    run = subprocess.run(
        [_searchkit_exe(), "strategy", str(strategy_file)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    expected = (having(sample_index_dir, "cancer") | having(sample_index_dir, "tumor")) & having(
        sample_index_dir, "mice"
    )
    assert set(run.stdout.split()) == expected
    assert f"Final set: #5, {len(expected)} records" in run.stderr
