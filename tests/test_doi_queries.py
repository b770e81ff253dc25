"""DOIs in a query as PubMed takes them: tagged ([doi], [aid], [lid]) with the DOI's
hyphens, brackets and a truncation ``*``, and quoted without a tag. Expected sets come
from the DOIs the stored records hold, never from the query engine."""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
