"""Publication types, languages and journals as ``[pt]``, ``[la]`` and ``[ta]`` (and
``type:``, ``lang:``, ``journal:``) search them: whole values, a type renamed by NLM
under either of its names, the words before a tag that are not part of a value, and a
note when a value is no record's.

Expected sets are read from the stored records (:mod:`tests.reference_sets`), never
from the query engine."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from searchkit import Record, SearchIndex
from searchkit.index.documents import record_from_json

from .cli_helpers import process, run


@cache
def _records(index_dir: Path) -> tuple[Record, ...]:
    with SearchIndex.open(index_dir).whoosh_index.searcher() as searcher:
        return tuple(record_from_json(f["record"]) for f in searcher.all_stored_fields())


def _where(index_dir: Path, test: Callable[[Record], bool]) -> set[str]:
    return {r.pmid for r in _records(index_dir) if test(r)}


def _typed(index_dir: Path, *names: str) -> set[str]:
    wanted = {n.lower() for n in names}
    return _where(
        index_dir, lambda r: not wanted.isdisjoint(t.lower() for t in r.publication_types)
    )


def _pmids(index_dir: Path, query: str) -> set[str]:
    result = run(index_dir, "search", "-f", "pmid", "-n", "all", query)
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())


RENAMED = "Evaluation Study", "Evaluation Studies"


@pytest.mark.parametrize(
    "query",
    [
        "Evaluation Study[pt]",
        "Evaluation Studies[pt]",
        "evaluation study[Publication Type]",
        '"Evaluation Study"[pt]',
        'type:"Evaluation Study"',
        "evaluationstudy[Filter]",
    ],
)
def test_a_renamed_type_is_found_by_either_name(sample_index_dir: Path, query: str) -> None:
    # Before: [pt] and type: searched the name written only, so the current NLM name
    # "Evaluation Study" found none of the sample's records, which carry the former one.
    expected = _typed(sample_index_dir, *RENAMED)
    assert expected, "the sample holds records of the type"
    assert _pmids(sample_index_dir, query) == expected


def test_a_renamed_type_through_a_real_process(sample_index_dir: Path) -> None:
    expected = _typed(sample_index_dir, *RENAMED)
    done = process(sample_index_dir, "search", "--count", "--", "Evaluation Study[pt]")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{len(expected)}\n", "")


def test_a_renamed_type_is_searched_alike_in_solr() -> None:
    from searchkit.solr.translate import translate

    assert translate("Evaluation Study[pt]") == translate("evaluationstudy[Filter]")
    assert translate("Evaluation Studies[pt]") == translate("evaluationstudy[Filter]")
