"""DOIs in a query as PubMed takes them: tagged ([doi], [aid], [lid]) with the DOI's
hyphens, brackets and a truncation ``*``, and quoted without a tag. Expected sets come
from the DOIs the stored records hold, never from the query engine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.index.documents import record_from_json

from .cli_helpers import process

runner = CliRunner()

#: Lancet-style DOIs of data/: hyphens and a bracketed year.
LANCET = "10.1016/S0140-6736"
CHILD = "10.1016/S2352-4642(17)30017-2"
JMLA = "10.5195/jmla.2017.189"


@cache
def _stored_dois(index_dir: Path) -> dict[str, str]:
    """Each stored record's DOI, lower case, by PMID."""
    out: dict[str, str] = {}
    with SearchIndex.open(index_dir).whoosh_index.searcher() as searcher:
        for stored in searcher.all_stored_fields():
            record = record_from_json(stored["record"])
            if record.doi:
                out[record.pmid] = record.doi.lower()
    return out


def _starting(index_dir: Path, prefix: str) -> set[str]:
    return {p for p, d in _stored_dois(index_dir).items() if d.startswith(prefix.lower())}


def _equal(index_dir: Path, doi: str) -> set[str]:
    return {p for p, d in _stored_dois(index_dir).items() if d == doi.lower()}


def _search(index_dir: Path, query: str) -> set[str]:
    result = runner.invoke(
        app, ["search", "--index", str(index_dir), "-f", "pmid", "-n", "all", "--", query]
    )
    assert result.exit_code == 0, (query, result.stderr)
    return set(result.stdout.split())


def test_a_truncated_doi_with_a_hyphen_finds_the_dois_it_starts(sample_index_dir: Path) -> None:
    """``10.1016/S0140-6736*[doi]`` was read as the hyphenated-wildcard phrase
    "10.1016/S0140 6736*" and refused; in a DOI the hyphen is a character of it."""
    expected = _starting(sample_index_dir, LANCET)
    assert len(expected) >= 2
    for query in (
        f"{LANCET}*[doi]",
        f"{LANCET}*[aid]",
        f"doi:{LANCET}*",
        f'"{LANCET}*"[doi]',
        f"{LANCET}*",
    ):
        assert _search(sample_index_dir, query) == expected, query


def test_a_truncated_doi_with_a_hyphen_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "-f", "pmid", "--", f"{LANCET}*[doi]")
    assert (run.returncode, run.stderr) == (0, "")
    assert set(run.stdout.split()) == _starting(sample_index_dir, LANCET)


@pytest.mark.parametrize("tag", ["doi", "aid", "lid", "Location ID"])
def test_a_tagged_doi_with_brackets_is_taken_whole(sample_index_dir: Path, tag: str) -> None:
    """``10.1016/S2352-4642(17)30017-2[doi]`` was split at its brackets into free text
    and ``doi:30017-2``, and found nothing without a word of warning."""
    expected = _equal(sample_index_dir, CHILD)
    assert expected
    assert _search(sample_index_dir, f"{CHILD}[{tag}]") == expected
    assert _search(sample_index_dir, f"{CHILD} [{tag}]") == expected


def test_a_doi_with_brackets_among_other_terms(sample_index_dir: Path) -> None:
    """Brackets around the tagged DOI still group; several DOIs before one tag are any
    of them; the README's advice (quote the DOI) gives the same."""
    child = _equal(sample_index_dir, CHILD)
    other = "10.1016/S0140-6736(17)30317-3"
    both = child | _equal(sample_index_dir, other)
    assert len(both) == 2
    assert _search(sample_index_dir, f"({CHILD}[doi])") == child
    assert _search(sample_index_dir, f"({CHILD}[doi] OR {other}[doi])") == both
    assert _search(sample_index_dir, f"{CHILD} {other}[doi]") == both
    assert _search(sample_index_dir, f'"{CHILD}"[doi]') == child
    assert _search(sample_index_dir, f"doi:{CHILD}") == child
    narrower = f"{LANCET}(17)"
    assert _starting(sample_index_dir, narrower)
    assert _search(sample_index_dir, f"{narrower}*[doi]") == _starting(sample_index_dir, narrower)
    explained = runner.invoke(
        app, ["search", "--index", str(sample_index_dir), "--explain", "--count", f"{CHILD}[doi]"]
    )
    assert f"parsed: doi:({CHILD})" in explained.stderr


def test_a_tagged_doi_with_brackets_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "-f", "pmid", "--", f"{CHILD}[doi]")
    assert (run.returncode, run.stderr) == (0, "")
    assert set(run.stdout.split()) == _equal(sample_index_dir, CHILD)


def test_unbalanced_brackets_in_a_tagged_doi_are_an_error_at_their_place(
    sample_index_dir: Path,
) -> None:
    """A '(' the tagged DOI never closes cannot be told from a group the query opens:
    one line naming its position and saying to quote the DOI, exit 2."""
    result = runner.invoke(
        app, ["search", "--index", str(sample_index_dir), "10.1016/S2352-4642(17[doi]"]
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "position 19" in result.stderr and "quote the DOI" in result.stderr
    run = process(sample_index_dir, "search", "--", "10.1016/S2352-4642(17[doi]")
    assert (run.returncode, run.stderr.count("\n"), run.stdout) == (2, 1, "")
    assert "quote the DOI" in run.stderr and "Traceback" not in run.stderr


def test_a_quoted_doi_finds_its_record_as_the_bare_one_does(sample_index_dir: Path) -> None:
    """PubMed maps a DOI to [doi]: quoted, it was searched as a phrase of the text
    fields and found nothing."""
    for doi in (JMLA, CHILD):
        expected = _equal(sample_index_dir, doi)
        assert expected and _search(sample_index_dir, doi) == expected
        assert _search(sample_index_dir, f'"{doi}"') == expected, doi
        assert _search(sample_index_dir, f'"{doi.upper()}"') == expected, doi
    jmla = _equal(sample_index_dir, JMLA)
    assert _search(sample_index_dir, f'"{JMLA}" OR "{CHILD}"') == jmla | _equal(
        sample_index_dir, CHILD
    )
    assert _search(sample_index_dir, f'"{JMLA}" AND 2017[dp]') == jmla
    assert _search(sample_index_dir, f'"https://doi.org/{JMLA}"') == jmla
    assert _search(sample_index_dir, f'"{LANCET}*"') == _starting(sample_index_dir, LANCET)


def test_a_quoted_doi_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "-f", "pmid", "--", f'"{JMLA}"')
    assert (run.returncode, run.stderr) == (0, "")
    assert set(run.stdout.split()) == _equal(sample_index_dir, JMLA)
