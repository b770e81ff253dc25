"""PMC ids are searched as PubMed searches them: ``PMC8469208[pmcid]``, a PMCID (or a
list of them) pasted alone, and ``#N`` of such a search. An index made before they were
indexed says so and keeps taking records; ``rebuild`` makes them searchable.

Expected sets come from the records as the readers give them, never from the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from searchkit import Record, SearchIndex, search
from searchkit.cli import app
from searchkit.index import schema as schema_module
from searchkit.index import searchindex as searchindex_module
from searchkit.readers import iter_files, read_file

from .cli_helpers import process
from .conftest import SAMPLE_DIR, SMALL_SUBSET, set_index_version

runner = CliRunner()
SEED, SEED_PMCID = "34572009", "PMC8469208"


def _by_pmcid(files: list[Path]) -> dict[str, set[str]]:
    """PMCID → the PMIDs holding it, the last version of each record read winning
    (as ingest upserts)."""
    latest: dict[str, str | None] = {}
    for path in files:
        for item in read_file(path):
            if isinstance(item, Record):
                latest[item.pmid] = item.pmcid
    out: dict[str, set[str]] = {}
    for pmid, pmcid in latest.items():
        if pmcid:
            out.setdefault(pmcid.upper(), set()).add(pmid)
    return out


@pytest.fixture(scope="module")
def expected() -> dict[str, set[str]]:
    return _by_pmcid(list(iter_files([SAMPLE_DIR])))


def _pmids(index_dir: Path, query: str) -> set[str]:
    result = runner.invoke(
        app, ["search", "--index", str(index_dir), "-f", "pmid", "-n", "all", "--", query]
    )
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())


def test_every_pmcid_of_the_sample_finds_its_records(
    sample_index_dir: Path, expected: dict[str, set[str]]
) -> None:
    """Every reader's PMCIDs (PubMed XML, MEDLINE, .nbib, abstract text, the page)."""
    assert len(expected) > 900
    with SearchIndex.open(sample_index_dir) as index:
        for pmcid, pmids in sorted(expected.items()):
            result = search(index, f"{pmcid}[pmcid]", limit=None, with_snippets=False)
            found = set(result.pmids())
            assert found == pmids, pmcid


def test_the_forms_pubmed_accepts(sample_index_dir: Path, expected: dict[str, set[str]]) -> None:
    assert expected[SEED_PMCID] == {SEED}
    digits = SEED_PMCID.removeprefix("PMC")
    for query in (
        f"{SEED_PMCID}[pmcid]",
        f"{SEED_PMCID.lower()}[PMCID]",
        f"{digits}[pmcid]",
        f"pmcid:{SEED_PMCID}",
        SEED_PMCID,  # alone, as pasted in PubMed's search box
        SEED_PMCID.lower(),
        f" {SEED_PMCID}. ",
        f"{SEED_PMCID}[pmcid] AND immune[ti]",
    ):
        assert _pmids(sample_index_dir, query) == {SEED}, query
    others = sorted(expected)[:3]
    listed = set().union(*(expected[p] for p in others), {SEED})
    for query in (
        " ".join([SEED_PMCID, *others]),
        ", ".join([SEED_PMCID, *others]),
        ",".join([SEED_PMCID, *others]) + "[pmcid]",
        " OR ".join(f"{p}[pmcid]" for p in [SEED_PMCID, *others]),
    ):
        assert _pmids(sample_index_dir, query) == listed, query
    assert _pmids(sample_index_dir, "PMC1[pmcid]") == set()
    assert _pmids(sample_index_dir, f"{SEED_PMCID}[pmcid] NOT {SEED}[pmid]") == set()


def test_a_pmcid_among_words_is_a_word(sample_index_dir: Path) -> None:
    """As a number among words is a word, not a PMID."""
    assert SEED not in _pmids(sample_index_dir, f"cancer {SEED_PMCID}")


def test_a_wildcard_in_a_pmcid_is_one_error_line(sample_index_dir: Path) -> None:
    result = runner.invoke(app, ["search", "--index", str(sample_index_dir), "PMC84*[pmcid]"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: a wildcard '*' is not supported for PMC ids (at position 1)\n"


def test_a_search_of_pmcids_alone_means_the_same_when_referred_to(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "strategy.txt"
    path.write_text(f"{SEED_PMCID}\n#1 AND cancer\n#1 NOT #2\n", "utf-8")
    result = runner.invoke(app, ["strategy", str(path), "--index", str(sample_index_dir)])
    assert result.exit_code == 0, result.stderr
    assert "#1    1  " in result.stderr
    assert "#2    1  #1 AND cancer" in result.stderr


def test_pmcids_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "-f", "pmid", "--", f"{SEED_PMCID}[pmcid]")
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{SEED}\n", "")
    run = process(sample_index_dir, "search", "--count", "--", SEED_PMCID)
    assert (run.returncode, run.stdout, run.stderr) == (0, "1\n", "")


# -- an index made before PMC ids were indexed ------------------------------------------


def _schema_without_pmcid() -> Any:
    """The schema of format 9 and older: no ``pmcid`` field."""
    schema = schema_module.build_schema()
    schema.remove("pmcid")
    return schema


def _ingest(index: Path, files: list[Path]) -> None:
    result = runner.invoke(app, ["ingest", *map(str, files), "--index", str(index), "--procs", "1"])
    assert result.exit_code == 0, result.output


def test_an_older_index_says_to_rebuild_and_rebuild_makes_pmcids_searchable(
    tmp_path: Path,
) -> None:
    index = tmp_path / "ix"
    half = len(SMALL_SUBSET) // 2
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(searchindex_module, "build_schema", _schema_without_pmcid)
        _ingest(index, SMALL_SUBSET[:half])
    set_index_version(index, 9)
    _ingest(index, SMALL_SUBSET[half:])  # its schema kept: records without the field
    expected = _by_pmcid(SMALL_SUBSET)
    pmcid, pmids = sorted(expected.items())[0]
    for query in (f"{pmcid}[pmcid]", pmcid):
        result = runner.invoke(app, ["search", "--index", str(index), "--", query])
        assert result.exit_code == 1, query
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "before PMC ids were indexed" in result.stderr
        assert "searchkit rebuild" in result.stderr
    run = process(index, "search", "--", f"{pmcid}[pmcid]")
    assert run.returncode == 1 and run.stdout == "" and run.stderr.count("\n") == 1
    strategy = tmp_path / "strategy.txt"
    strategy.write_text(f"cancer\n{pmcid}[pmcid]\n#1 AND #2\n", "utf-8")
    result = runner.invoke(app, ["strategy", str(strategy), "--index", str(index)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {strategy}, line 2: this index was made before")
    assert result.stderr.count("\n") == 1
    rebuilt = runner.invoke(app, ["rebuild", "--index", str(index), "--procs", "1"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _pmids(index, f"{pmcid}[pmcid]") == pmids
    assert _pmids(index, " ".join(sorted(expected))) == set().union(*expected.values())
