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

from searchkit.query.filters import UNSUPPORTED_FILTERS
from searchkit.query.parser import parse
from searchkit.query.syntax import And, FreeText, HasAbstract, Node, Tagged

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


def _headed(index_dir: Path, heading: str) -> set[str]:
    return where(index_dir, lambda r: any(m.name.lower() == heading for m in r.mesh))


@pytest.mark.parametrize(
    ("query", "node"),
    [
        (
            "cancer review[pt]",
            And((FreeText(("cancer",), 0), Tagged("pubtype", ("review",), 7)), implicit=True),
        ),
        (
            "cancer english[Filter]",
            And((FreeText(("cancer",), 0), Tagged("language", ("english",), 7)), implicit=True),
        ),
        (
            "breast cancer humans[Filter]",
            And(
                (FreeText(("breast", "cancer"), 0), Tagged("mesh_noexp", ("humans",), 14)),
                implicit=True,
            ),
        ),
        (
            "cancer review[filt]",
            And((FreeText(("cancer",), 0), Tagged("pubtype", ("Review",), 7)), implicit=True),
        ),
        # The run's longest end that names a filter: "english abstract", not "abstract".
        (
            "tumor english abstract[Filters]",
            And(
                (FreeText(("tumor",), 0), Tagged("pubtype", ("English Abstract",), 6)),
                implicit=True,
            ),
        ),
        ("cancer fha[Filter]", And((FreeText(("cancer",), 0), HasAbstract(7)), implicit=True)),
        # A run that is a filter as a whole stays whole.
        ("english abstract[Filter]", Tagged("pubtype", ("English Abstract",), 0)),
    ],
)
def test_the_words_before_a_filter_are_parsed_as_free_text(query: str, node: Node) -> None:
    # Before: the whole run was taken as the filter's name, so "cancer english[Filter]"
    # was refused as an unknown filter, where "cancer review[pt]" was split.
    assert parse(query) == node


@pytest.mark.parametrize(
    ("query", "explicit", "words", "expected"),
    [
        (
            "cancer english[Filter]",
            "cancer AND english[Filter]",
            ("cancer",),
            lambda ix: _language(ix, "eng"),
        ),
        (
            "breast cancer humans[Filter]",
            "breast cancer AND humans[Filter]",
            ("breast", "cancer"),
            lambda ix: _headed(ix, "humans"),
        ),
        (
            "cancer review[Filter]",
            "cancer AND review[Filter]",
            ("cancer",),
            lambda ix: _typed(ix, "Review"),
        ),
        (
            "tumor cells english abstract[filt]",
            "tumor cells AND english abstract[Filter]",
            ("tumor", "cells"),
            lambda ix: _typed(ix, "English Abstract"),
        ),
    ],
)
def test_words_before_a_filter_are_free_text(
    sample_index_dir: Path,
    query: str,
    explicit: str,
    words: tuple[str, ...],
    expected: Callable[[Path], set[str]],
) -> None:
    # As for [pt] and [la] above: PubMed reads "cancer english[Filter]" as
    # "cancer AND english[Filter]".
    want = _free(sample_index_dir, *words) & expected(sample_index_dir)
    assert want, "the sample holds such records"
    assert _pmids(sample_index_dir, explicit) == want
    assert _pmids(sample_index_dir, query) == want
    tag_first = query[query.index(words[-1]) + len(words[-1]) + 1 :] + " " + " ".join(words)
    assert _pmids(sample_index_dir, tag_first) == want


def test_a_filter_and_a_language_tag_split_the_run_alike(sample_index_dir: Path) -> None:
    assert _pmids(sample_index_dir, "cancer english[Filter]") == _pmids(
        sample_index_dir, "cancer english[la]"
    )
    assert _pmids(sample_index_dir, "cancer review[Filter]") == _pmids(
        sample_index_dir, "cancer review[pt]"
    )


def test_words_before_a_filter_are_translated_alike_for_solr() -> None:
    from searchkit.solr.translate import translate

    assert translate("cancer english[Filter]") == translate("cancer AND english[Filter]")
    assert translate("breast cancer humans[Filter]") == translate(
        "breast cancer AND humans[Filter]"
    )


_KNOWN_FILTERS = (
    "(languages such as english[Filter], article types such as review[Filter], fha[Filter], "
    "humans[Filter], female[Filter], male[Filter], y_1[Filter], y_5[Filter], y_10[Filter])"
)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # No end of the run is a filter: the whole run is named, at its start.
        (
            "cancer englsh[Filter]",
            f"Error: cancer englsh[Filter] is not a PubMed filter searchkit knows "
            f"{_KNOWN_FILTERS} (at position 1)\n",
        ),
        (
            "tumor AND breast cancer[Filter]",
            f"Error: breast cancer[Filter] is not a PubMed filter searchkit knows "
            f"{_KNOWN_FILTERS} (at position 11)\n",
        ),
        # The end that names a filter that cannot be searched is refused as that filter.
        (
            "cancer free full text[Filter]",
            "Error: the PubMed filter free full text[Filter] cannot be searched here: "
            f"{UNSUPPORTED_FILTERS['ffrft']} (at position 8)\n",
        ),
    ],
)
def test_a_run_that_ends_in_no_filter_is_one_error_line(
    sample_index_dir: Path, query: str, message: str
) -> None:
    result = run(sample_index_dir, "search", "--count", query)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


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


def test_words_before_a_filter_through_a_real_process(sample_index_dir: Path) -> None:
    want = having(sample_index_dir, "cancer") & _language(sample_index_dir, "eng")
    assert want
    done = process(sample_index_dir, "search", "--count", "cancer english[Filter]")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{len(want)}\n", "")
    explicit = process(sample_index_dir, "search", "--count", "cancer AND english[Filter]")
    assert (explicit.returncode, explicit.stdout) == (0, f"{len(want)}\n")
    done = process(sample_index_dir, "search", "--count", "cancer englsh[Filter]")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("Error: cancer englsh[Filter] is not a PubMed filter")
    assert done.stderr.endswith(" (at position 1)\n")
    assert done.stderr.count("\n") == 1
