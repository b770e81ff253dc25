"""Publication types, languages and journals as ``[pt]``, ``[la]`` and ``[ta]`` (and
``type:``, ``lang:``, ``journal:``) search them: whole values, a type renamed by NLM
under either of its names, the words before a tag that are not part of a value, and a
note when a value is no record's.

Expected sets are read from the stored records (:mod:`tests.reference_sets`), never
from the query engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .cli_helpers import process, run
from .reference_sets import having, where


def _typed(index_dir: Path, *names: str) -> set[str]:
    wanted = {n.lower() for n in names}
    return where(index_dir, lambda r: not wanted.isdisjoint(t.lower() for t in r.publication_types))


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


def _free(index_dir: Path, *words: str) -> set[str]:
    found = having(index_dir, words[0])
    for word in words[1:]:
        found &= having(index_dir, word)
    return found


def _language(index_dir: Path, code: str) -> set[str]:
    return where(index_dir, lambda r: code in {lang.lower() for lang in r.languages})


@pytest.mark.parametrize(
    ("query", "words", "expected"),
    [
        ("cancer review[pt]", ("cancer",), lambda ix: _typed(ix, "Review")),
        ("cancer case reports[pt]", ("cancer",), lambda ix: _typed(ix, "Case Reports")),
        (
            "tumor cells english abstract[pt]",
            ("tumor", "cells"),
            lambda ix: _typed(ix, "English Abstract"),
        ),
        ("cancer english[la]", ("cancer",), lambda ix: _language(ix, "eng")),
        ("cancer ger[lang]", ("cancer",), lambda ix: _language(ix, "ger")),
    ],
)
def test_words_before_a_type_or_language_are_free_text(
    sample_index_dir: Path,
    query: str,
    words: tuple[str, ...],
    expected: Callable[[Path], set[str]],
) -> None:
    # Before: the words were taken into the tag's value ("cancer review" as a type) and
    # the search silently found nothing. PubMed tags a run it does not know as a whole
    # value by its end and searches the words before it as text.
    want = _free(sample_index_dir, *words) & expected(sample_index_dir)
    assert want, "the sample holds such records"
    assert _pmids(sample_index_dir, query) == want
    tag_first = query[query.index(words[-1]) + len(words[-1]) + 1 :] + " " + " ".join(words)
    assert _pmids(sample_index_dir, tag_first) == want


def test_the_readme_example_of_the_operator_order(sample_index_dir: Path) -> None:
    query = "breast cancer OR tumor review[pt]"
    result = run(sample_index_dir, "search", "--count", "--explain", query)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "parsed: (words(breast cancer) OR (words(tumor) AND pubtype:(review)))"
    )
    expected = _free(sample_index_dir, "breast", "cancer") | (
        having(sample_index_dir, "tumor") & _typed(sample_index_dir, "Review")
    )
    assert int(result.stdout) == len(expected)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("case reports[pt]", ("Case Reports",)),
        ("english abstract[pt]", ("English Abstract",)),
        ("Research Support, N.I.H., Extramural[pt]", ("Research Support, N.I.H., Extramural",)),
        ("introductory journal article[pt]", ("Introductory Journal Article",)),
    ],
)
def test_a_type_of_several_words_stays_whole(
    sample_index_dir: Path, query: str, names: tuple[str, ...]
) -> None:
    expected = _typed(sample_index_dir, *names)
    assert expected
    assert _pmids(sample_index_dir, query) == expected


def test_a_journal_name_is_the_whole_run(sample_index_dir: Path) -> None:
    # Journal names begin with subject words ("Cancer Res"): the run is the name.
    journal = where(sample_index_dir, lambda r: (r.journal_abbrev or "").lower() == "cancer res")
    assert journal
    assert _pmids(sample_index_dir, "cancer res[ta]") == journal


@pytest.mark.parametrize(
    ("query", "note"),
    [
        (
            "reveiw[pt]",
            "note: reveiw[pt] is not a publication type of any record; the nearest: review\n",
        ),
        ("englsh[la]", "note: englsh[la] is not a language of any record; the nearest: english\n"),
        (
            "cancer gastroenterology[ta]",
            "note: cancer gastroenterology[ta] is not a journal of any record, but "
            "gastroenterology[ta] is: a journal's name is the whole run of words before "
            "[ta] (write cancer AND gastroenterology[ta])\n",
        ),
    ],
)
def test_a_value_no_record_has_is_a_note(sample_index_dir: Path, query: str, note: str) -> None:
    # Before: 0 without a word, where [mh] says its heading is no record's.
    result = run(sample_index_dir, "search", "--count", query)
    assert (result.exit_code, result.stdout) == (0, "0\n")
    assert note in result.stderr


def test_no_note_for_values_records_have(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "--count", "Evaluation Study[pt] AND english[la]")
    assert result.exit_code == 0
    assert "note:" not in result.stderr


def test_words_before_a_type_and_the_note_through_a_real_process(sample_index_dir: Path) -> None:
    want = having(sample_index_dir, "cancer") & _typed(sample_index_dir, "Review")
    done = process(sample_index_dir, "search", "--count", "cancer review[pt]")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{len(want)}\n", "")
    done = process(sample_index_dir, "search", "--count", "cancer reveiw[pt]")
    assert (done.returncode, done.stdout) == (0, "0\n")
    assert done.stderr == (
        "note: cancer reveiw[pt] is not a publication type of any record; the nearest: review\n"
    )
