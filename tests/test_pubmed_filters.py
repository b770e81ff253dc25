"""PubMed's filters and date ranges as PubMed itself writes them in a search's details
and history: ``(asthma) AND (english[Filter])``, ``fha[Filter]`` or ``hasabstract``,
``("2015/01/01"[Date - Publication] : "3000"[Date - Publication])``. A strategy pasted
from PubMed holds these; each must give the records it names (expected sets read from
the stored records, never from the query engine) or one line saying why it cannot.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner
from whoosh.query import Every

from searchkit import Record, SearchIndex
from searchkit.cli import app
from searchkit.engine import scoring
from searchkit.engine.presence import HasTerms
from searchkit.index.documents import date_key, record_from_json
from searchkit.params import DEFAULT
from searchkit.query.date_forms import parse_dates
from searchkit.query.filters import UNSUPPORTED_FILTERS, months_ago, relative_start, years_ago
from searchkit.solr.translate import translate

from .cli_helpers import process
from .conftest import SMALL_SUBSET, segmented_index
from .reference_sets import having, where

runner = CliRunner()


def _has_abstract(r: Record) -> bool:
    return bool(r.abstract and r.abstract.strip())


def _language(code: str) -> Callable[[Record], bool]:
    return lambda r: code in {lang.lower() for lang in r.languages}


def _pubtype(*names: str) -> Callable[[Record], bool]:
    wanted = {n.lower() for n in names}
    return lambda r: not wanted.isdisjoint(t.lower() for t in r.publication_types)


def _heading(name: str) -> Callable[[Record], bool]:
    return lambda r: any(m.name.lower() == name for m in r.mesh)


def _pmids(index_dir: Path, query: str) -> set[str]:
    result = runner.invoke(
        app, ["search", "--index", str(index_dir), "-f", "pmid", "-n", "all", "--", query]
    )
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())


FILTERS: dict[str, Callable[[Record], bool]] = {
    "fha[Filter]": _has_abstract,
    "hasabstract": _has_abstract,
    # Older strategies write the filter with a tag; the word is in no record's text.
    "hasabstract[text]": _has_abstract,
    "hasabstract[tw]": _has_abstract,
    "hasabstract[All Fields]": _has_abstract,
    "english[Filter]": _language("eng"),
    "french[Filter]": _language("fre"),
    "review[Filter]": _pubtype("Review"),
    "casereports[Filter]": _pubtype("Case Reports"),
    "meta-analysis[Filter]": _pubtype("Meta-Analysis"),
    "researchsupportnonusgovt[Filter]": _pubtype("Research Support, Non-U.S. Gov't"),
    "evaluationstudy[Filter]": _pubtype("Evaluation Study", "Evaluation Studies"),
    "humans[Filter]": _heading("humans"),
    "female[Filter]": _heading("female"),
}


@pytest.mark.parametrize("term", sorted(FILTERS))
def test_a_pasted_filter_gives_the_records_it_names(sample_index_dir: Path, term: str) -> None:
    cancer = having(sample_index_dir, "cancer")
    named = where(sample_index_dir, FILTERS[term])
    assert named & cancer, "the sample holds records of the filter"
    assert _pmids(sample_index_dir, f"(cancer) AND ({term})") == cancer & named
    assert _pmids(sample_index_dir, f"cancer NOT {term}") == cancer - named


def test_text_is_a_tag_only_after_hasabstract(sample_index_dir: Path) -> None:
    result = CliRunner().invoke(app, ["search", "--index", str(sample_index_dir), "cancer[text]"])
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr.startswith("Error: unknown field tag [text]")
    assert result.stderr.count("\n") == 1
    assert _pmids(sample_index_dir, "cancer hasabstract[text]") == _pmids(
        sample_index_dir, "cancer AND hasabstract"
    )


def test_filters_are_read_whatever_their_case(sample_index_dir: Path) -> None:
    expected = _pmids(sample_index_dir, "cancer AND english[Filter]")
    assert _pmids(sample_index_dir, "cancer AND English[filter]") == expected
    assert _pmids(sample_index_dir, "cancer AND HasAbstract") == _pmids(
        sample_index_dir, "cancer AND fha[FILTER]"
    )


def test_the_last_years_filter_starts_that_many_years_before_today(
    sample_index_dir: Path,
) -> None:
    years = datetime.date.today().year - 2016  # the sample's records split there
    since = years_ago(years, datetime.date.today())
    expected = where(
        sample_index_dir, lambda r: (date_key(r.pub_date) or "0") >= since.strftime("%Y%m%d")
    )
    assert expected and expected != where(sample_index_dir, lambda r: True)
    assert _pmids(sample_index_dir, f"y_{years}[Filter]") == expected


def test_years_ago_keeps_the_day_and_falls_back_from_a_leap_day() -> None:
    assert years_ago(5, datetime.date(2026, 12, 6)) == datetime.date(2021, 12, 6)
    assert years_ago(1, datetime.date(2024, 2, 29)) == datetime.date(2023, 2, 28)
    assert months_ago(1, datetime.date(2026, 3, 31)) == datetime.date(2026, 2, 28)
    assert months_ago(13, datetime.date(2026, 1, 15)) == datetime.date(2024, 12, 15)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("last 5 years", datetime.date(2021, 12, 6)),
        ("Last 6 Months", datetime.date(2026, 6, 6)),
        ("last 30 days", datetime.date(2026, 11, 6)),
        ("last 1 year", datetime.date(2025, 12, 6)),
        ("2015", None),
        ("last years", None),
    ],
)
def test_pubmed_relative_dates(text: str, start: datetime.date | None) -> None:
    assert relative_start(text, datetime.date(2026, 12, 6)) == start


def test_a_relative_date_searches_from_that_day_to_the_present(sample_index_dir: Path) -> None:
    years = datetime.date.today().year - 2016  # the sample's records split there
    expected = _pmids(sample_index_dir, f"cancer AND y_{years}[Filter]")
    assert expected and expected != having(sample_index_dir, "cancer")
    assert _pmids(sample_index_dir, f'cancer AND "last {years} years"[dp]') == expected
    since = years_ago(years, datetime.date.today()).strftime("%Y/%m/%d")
    assert _pmids(sample_index_dir, f"cancer AND {since}:3000[dp]") == expected
    months = _pmids(sample_index_dir, f'cancer AND "last {12 * years} months"[Date - Publication]')
    assert months == expected


def test_words_before_a_tagged_date_are_free_text(sample_index_dir: Path) -> None:
    # Before the fix the whole run was read as one date: "'breastcancer2015' is not a
    # date". The date is the run's tail; the words before it are searched with it.
    expected = where(
        sample_index_dir,
        lambda r: (
            (key := date_key(r.pub_date or (f"{r.year:04d}" if r.year else None))) is not None
            and "20150101" <= key <= "20201231"
        ),
    ) & _pmids(sample_index_dir, "breast cancer")
    assert expected
    assert _pmids(sample_index_dir, "breast cancer 2015:2020[dp]") == expected
    assert _pmids(sample_index_dir, "breast cancer 2015 : 2020[dp]") == expected
    years = datetime.date.today().year - 2016
    relative = _pmids(sample_index_dir, f'cancer AND "last {years} years"[dp]')
    assert relative
    assert _pmids(sample_index_dir, f"cancer last {years} years[dp]") == relative
    assert _pmids(sample_index_dir, f"last {years} years[dp]") >= relative
    done = process(sample_index_dir, "search", "breast cancer 2015:2020[dp]", "--count")
    assert (done.returncode, done.stdout.strip()) == (0, str(len(expected)))


@pytest.mark.parametrize(
    ("pasted", "plain"),
    [
        (
            '("2005/01/01"[Date - Publication] : "2012/12/31"[Date - Publication])',
            "2005/01/01:2012/12/31[dp]",
        ),
        ('"2010/06"[dp] : "3000"[dp]', "2010/06:3000[dp]"),
        ("2005[dp] : 2010[dp]", "2005:2010[dp]"),
        ("2005[pdat]:2010[pdat]", "2005:2010[dp]"),
        ('"2001/01/01"[edat] : "2014/12/31"[edat]', "2001/01/01:2014/12/31[edat]"),
    ],
)
def test_a_date_range_tagged_at_both_ends_is_the_range(
    sample_index_dir: Path, pasted: str, plain: str
) -> None:
    expected = _pmids(sample_index_dir, f"cancer AND {plain}")
    assert expected
    assert _pmids(sample_index_dir, f"cancer AND {pasted}") == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "cancer AND ffrft[Filter]",
            "Error: the PubMed filter ffrft[Filter] cannot be searched here: "
            f"{UNSUPPORTED_FILTERS['ffrft']} (at position 12)\n",
        ),
        (
            "cancer AND systematicreview[Filter]",
            "Error: the PubMed filter systematicreview[Filter] cannot be searched here: "
            f"{UNSUPPORTED_FILTERS['systematicreview']} (at position 12)\n",
        ),
        (
            "cancer AND englsh[Filter]",
            "Error: englsh[Filter] is not a PubMed filter searchkit knows (languages such as "
            "english[Filter], article types such as review[Filter], fha[Filter], "
            "humans[Filter], female[Filter], male[Filter], y_1[Filter], y_5[Filter], "
            "y_10[Filter]) (at position 12)\n",
        ),
        (
            '"2005"[dp] : "2010"[edat]',
            "Error: a date range's two ends must be dates of one kind: [dp] then [edat] "
            "(at position 12)\n",
        ),
        (
            '"2005"[dp] : cancer',
            'Error: the end of a date range needs its date tag: \'"2005"[dp] : "2010"[dp]\' '
            "(at position 12)\n",
        ),
        (
            '"last 5 years"[edat] : "3000"[edat]',
            'Error: a relative date such as "last 5 years" is a range already: it cannot be an '
            "end of one (at position 22)\n",
        ),
        (
            "cancer AND free full text[Filter]",
            "Error: the PubMed filter free full text[Filter] cannot be searched here: "
            f"{UNSUPPORTED_FILTERS['ffrft']} (at position 12)\n",
        ),
        (
            "breast cancer[dp]",
            "Error: [dp]: 'breast cancer' is not a date such as 2014, 2014/09, 2014/09/23 or "
            '"last 5 years" (at position 1)\n',
        ),
        (
            "cancer 2020:2015[dp]",
            "Error: [dp]: the date range '2020:2015' runs backwards (at position 8)\n",
        ),
        ("cancer 2015/13[dp]", "Error: [dp]: '2015/13' has no month 13 (at position 8)\n"),
        # Before: a day past the end of its month searched an empty day, silently.
        (
            "2015/02/30[dp]",
            "Error: [dp]: '2015/02/30' has no day 30: February 2015 has 28 days (at position 1)\n",
        ),
        (
            "cancer 2015/04/31[edat]",
            "Error: [edat]: '2015/04/31' has no day 31: April 2015 has 30 days (at position 8)\n",
        ),
        (
            "2014/02/29:2016[dp]",
            "Error: [dp]: '2014/02/29' has no day 29: February 2014 has 28 days (at position 1)\n",
        ),
        (
            '"2015/01/01"[dp] : "2015/06/31"[dp]',
            "Error: [dp]: '2015/06/31' has no day 31: June 2015 has 30 days (at position 1)\n",
        ),
        (
            "2005:2006[dp] : 2010[dp]",
            "Error: a date range's two ends must each be one date (at position 15)\n",
        ),
    ],
)
def test_a_filter_or_range_that_cannot_be_searched_is_one_error_line(
    sample_index_dir: Path, query: str, message: str
) -> None:
    result = runner.invoke(app, ["search", query, "--index", str(sample_index_dir), "--count"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("2016/02/29", ("20160229", "20160229")),
        ("2000/02/29", ("20000229", "20000229")),
        ("2015/02/28:2015/04/30", ("20150228", "20150430")),
        ("2015/12/31", ("20151231", "20151231")),
    ],
)
def test_the_last_day_of_a_month_is_a_date(text: str, bounds: tuple[str, str]) -> None:
    assert parse_dates(text) == bounds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2015/02/29", "February 2015 has 28 days"),
        ("1900/02/29", "February 1900 has 28 days"),  # not a leap year: divisible by 100
        ("2015/02/31", "February 2015 has 28 days"),
        ("2015/09/31", "September 2015 has 30 days"),
        ("2015/01/32", "no day 32"),
        ("2015/01/00", "no day 00"),
    ],
)
def test_a_day_its_month_does_not_have_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_dates(text)


def test_an_impossible_day_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "--count", "--", "cancer AND 2015/02/30[dp]")
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "Error: [dp]: '2015/02/30' has no day 30: February 2015 has 28 days (at position 12)\n"
    )
    leap = process(sample_index_dir, "search", "--count", "--", "2016/02/29[dp]")
    assert (leap.returncode, leap.stderr) == (0, "")


def test_a_strategy_line_pasted_from_pubmed_through_a_real_process(
    sample_index_dir: Path,
) -> None:
    line = (
        "((cancer) AND (english[Filter])) AND (fha[Filter]) AND "
        '(("2000/01/01"[Date - Publication] : "3000"[Date - Publication]))'
    )
    expected = having(sample_index_dir, "cancer") & where(
        sample_index_dir,
        lambda r: (
            _has_abstract(r) and _language("eng")(r) and (date_key(r.pub_date) or "0") >= "20000101"
        ),
    )
    assert expected
    run = process(sample_index_dir, "search", "--count", "--", line)
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{len(expected)}\n", "")


def test_the_solr_translation_of_filters() -> None:
    assert translate("hasabstract") == {"lucene": {"query": "abstract:[* TO *]"}}
    assert translate("english[Filter]") == translate("english[la]")
    assert translate("review[Filter]") == translate("Review[pt]")
    assert translate("humans[Filter]") == translate("humans[mh:noexp]")
    assert translate('"2005"[dp] : "2010"[dp]') == translate("2005:2010[dp]")


def test_has_terms_reads_the_lengths_as_whoosh_reads_the_postings(tmp_path: Path) -> None:
    """``hasabstract`` in arrays (the evaluator), by its own matcher, and by Whoosh's
    ``Every`` (every posting of every abstract term) give the same live documents, on
    real records in two segments, one with deletions."""
    path = segmented_index(tmp_path / "ix", [SMALL_SUBSET[::2], SMALL_SUBSET[1::2]], 7)
    index = SearchIndex.open(path)
    try:
        with index.searcher() as searcher:
            assert len(searcher.leaf_searchers()) == 2
            assert any(sub.reader().has_deletions() for sub, _ in searcher.leaf_searchers())
            ev = scoring.evaluator(searcher, DEFAULT, DEFAULT.proximity_depth)
            q = HasTerms("abstract")
            ids, scores = ev.eval(q)
            assert np.array_equal(ev.ids(q), ids)
            mine, my_scores = ev.leaf(q)  # HasTerms's matcher, segment by segment
            stock, _ = ev.leaf(Every("abstract"))  # Whoosh's own
            assert np.array_equal(ids, mine) and np.array_equal(ids, stock)
            assert np.array_equal(scores, my_scores)
            with_abstract = {str(searcher.stored_fields(int(d))["pmid"]) for d in ids}
            expected = {
                str(f["pmid"])
                for f in searcher.all_stored_fields()
                if _has_abstract(record_from_json(f["record"]))
            }
            assert with_abstract == expected
            assert 0 < len(expected) < searcher.doc_count()  # some records have none
    finally:
        index.close()
