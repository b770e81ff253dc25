"""Dates indexed as their day, month and year (index format 9,
:mod:`searchkit.index.dates`): a date range reads a few runs of those terms and finds
exactly the records whose dates are in it, as the day terms alone find them in an
index of format 8 (which stays readable, and keeps its own terms when written to)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner
from whoosh import query as wq
from whoosh.fields import ID

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.index import schema as schema_module
from searchkit.index import searchindex as searchindex_module
from searchkit.index.dates import DateTokenizer, level_ranges, level_terms
from searchkit.index.documents import date_key
from searchkit.index.schema import SCHEMA_VERSION
from searchkit.query.compile import YearRange, parse_query
from searchkit.readers import read_file
from searchkit.records import Record

from .cli_helpers import process, run
from .conftest import SMALL_SUBSET, TEST_DATA, index_version, set_index_version

DATE_FIELDS = ("pdat", "edat", "crdt", "mhda")
RECORD_DATES = {
    "pdat": lambda r: r.pub_date or (f"{r.year:04d}" if r.year is not None else None),
    "edat": lambda r: r.entrez_date,
    "crdt": lambda r: r.create_date,
    "mhda": lambda r: r.mesh_date,
}

# Whole years, months and days; open ends; a range inside one month, across a year's
# end, and a relative one.
RANGES = [
    "2015:2020",
    "2014",
    "2014/09",
    "2013/12/15:2014/01/10",
    "2010/03/15:2016/10/20",
    "2012/02/29:2012/03/01",
    ":2011/06",
    "2016/02:3000",
    "1900:2011",
    "2017/01/01:2017/12/31",
]
TAGS = {"pdat": "dp", "edat": "edat", "crdt": "crdt", "mhda": "mhda"}


# -- the decomposition -------------------------------------------------------------


def _days(start: dt.date, stop: dt.date) -> list[str]:
    out = []
    day = start
    while day <= stop:
        out.append(day.strftime("%Y%m%d"))
        day += dt.timedelta(days=1)
    return out


UNIVERSE = _days(dt.date(2011, 11, 1), dt.date(2014, 3, 31))
# What the parser makes of "2014/09" as a range's end, and a year alone as a record's
# date ("2014" -> "20140101"): keys past a month's end occur as bounds.
BOUNDS = [*UNIVERSE, "20120231", "20130931", "20131131"]


def _covered(day: str, ranges: list[tuple[str, str]]) -> bool:
    return any(a <= term <= b for term in level_terms(day) for a, b in ranges)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.none(), st.sampled_from(BOUNDS)),
    st.one_of(st.none(), st.sampled_from(BOUNDS)),
)
def test_level_ranges_cover_exactly_the_days_between(low: str | None, high: str | None) -> None:
    ranges = level_ranges(low, high)
    for day in UNIVERSE:
        inside = (low is None or low <= day) and (high is None or day <= high)
        assert _covered(day, ranges) == inside, (low, high, day, ranges)
    # At most five runs: days, months, years, months, days.
    assert len(ranges) <= 5


def test_level_ranges_read_whole_years_and_months() -> None:
    assert level_ranges("20150101", "20201231") == [("y2015", "y2020")]
    assert level_ranges("20140901", "20140931") == [("m201409", "m201409")]
    assert level_ranges("20140901", "20140930") == [("m201409", "m201409")]
    assert level_ranges("20140923", "20140923") == [("20140923", "20140923")]
    assert level_ranges("20100315", "20161020") == [
        ("20100315", "20100331"),
        ("m201004", "m201012"),
        ("y2011", "y2015"),
        ("m201601", "m201609"),
        ("20161001", "20161020"),
    ]
    assert level_ranges(None, None) == [("y0000", "y9999")]
    assert level_ranges("20211206", None) == [
        ("20211206", "20211231"),
        ("y2022", "y9999"),
    ]
    assert level_ranges("20160101", "20150101") == []


def test_the_tokenizer_indexes_three_levels_and_queries_the_day() -> None:
    tokenizer = DateTokenizer()
    assert [t.text for t in tokenizer("20140923", mode="index")] == [
        "20140923",
        "m201409",
        "y2014",
    ]
    assert [t.text for t in tokenizer("20140923", mode="query")] == ["20140923"]
    assert tokenizer.index_positions("20140923") == {"20140923": [0], "m201409": [0], "y2014": [0]}
    # Not a date key: the value alone, as Whoosh's ID field indexes it.
    assert [t.text for t in tokenizer("2014-9", mode="index")] == ["2014-9"]


# -- on real records -------------------------------------------------------------------


def _day_only_schema() -> Any:
    """The schema of format 8: dates as day terms alone."""
    schema = schema_module.build_schema()
    for name in DATE_FIELDS:
        schema.remove(name)
        schema.add(name, ID())
    return schema


def _ingest(index: Path, files: list[Path]) -> None:
    result = CliRunner().invoke(
        app, ["ingest", *map(str, files), "--index", str(index), "--procs", "1"]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same real records in an index of this format and in one of format 8, each
    in two ingests (two segments)."""
    root = tmp_path_factory.mktemp("dates")
    new, old = root / "new", root / "old"
    half = len(SMALL_SUBSET) // 2
    for files in (SMALL_SUBSET[:half], SMALL_SUBSET[half:]):
        _ingest(new, files)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(searchindex_module, "build_schema", _day_only_schema)
        _ingest(old, SMALL_SUBSET[:half])
    set_index_version(old, 8)
    # Written to by this searchkit: it declares the current format, and its schema still holds
    # day terms alone, in the new segment too.
    _ingest(old, SMALL_SUBSET[half:])
    return new, old


def _expected(field: str, text: str) -> set[str]:
    """The PMIDs whose ``field`` date is in the range ``text``, from the records."""
    from searchkit.query.date_forms import parse_dates

    low, high = parse_dates(text)
    dates: dict[str, str | None] = {}
    for path in SMALL_SUBSET:  # later versions of a record win, as at ingest
        for item in read_file(path):
            if isinstance(item, Record):
                dates[item.pmid] = date_key(RECORD_DATES[field](item))
    return {
        pmid
        for pmid, key in dates.items()
        if key is not None and (low is None or low <= key) and (high is None or key <= high)
    }


def _pmids(index: Path, query: str) -> set[str]:
    found = run(index, "search", query, "--format", "pmid", "--limit", "all")
    assert found.exit_code == 0, found.stderr
    return set(found.stdout.split())


def test_a_range_reads_level_terms_in_a_new_index_and_days_in_an_old_one(
    indexes: tuple[Path, Path],
) -> None:
    new, old = indexes
    assert index_version(new) == SCHEMA_VERSION
    assert index_version(old) == SCHEMA_VERSION  # declared when written to
    with SearchIndex.open(new) as opened:
        assert isinstance(opened.schema["pdat"].analyzer, DateTokenizer)
        q = parse_query(opened.schema, "2010/03/15:2016/10/20[dp]")
        assert isinstance(q, YearRange) and isinstance(q.child, wq.Or)
        with opened.searcher() as searcher:
            years = [t for t in searcher.lexicon("pdat") if t.startswith(b"y")]
            months = [t for t in searcher.lexicon("pdat") if t.startswith(b"m")]
        assert len(years) > 10 and len(months) > 20
    with SearchIndex.open(old) as opened:
        assert not isinstance(opened.schema["pdat"].analyzer, DateTokenizer)
        q = parse_query(opened.schema, "2010/03/15:2016/10/20[dp]")
        assert isinstance(q, YearRange) and isinstance(q.child, wq.TermRange)
        with opened.searcher() as searcher:
            assert not [t for t in searcher.lexicon("pdat") if not t.isdigit()]


@pytest.mark.parametrize("field", DATE_FIELDS)
def test_ranges_find_the_records_of_those_dates_in_both_formats(
    indexes: tuple[Path, Path], field: str
) -> None:
    new, old = indexes
    nonempty = 0
    for text in RANGES:
        query = f"{text}[{TAGS[field]}]"
        expected = _expected(field, text)
        assert _pmids(new, query) == expected, query
        assert _pmids(old, query) == expected, query
        nonempty += bool(expected)
    assert nonempty >= (6 if field == "pdat" else 2)


def test_a_range_with_words_counts_the_same_as_a_real_process(
    indexes: tuple[Path, Path],
) -> None:
    new, old = indexes
    expected = _expected("pdat", "2015:2020") & _pmids(new, "cancer")
    assert expected
    for index in (new, old):
        done = process(index, "search", "cancer AND 2015:2020[dp]", "--count")
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == len(expected)


ORTHO_NBIB = TEST_DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib"
ORTHO_XML = (
    TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
)


def test_publication_dates_pubmed_writes_oddly_through_a_real_process(tmp_path: Path) -> None:
    """Real records with the dates a tester gave: "DP  - 2019 Feb 30" was stored as
    2019-02-30 and exported as "DA  - 2019/02/30"; "Spring 2018" (MEDLINE and
    ``MedlineDate``) gave no year, so 2018[dp] missed it; "1998 Dec 15-31" lost its day."""
    nbib = ORTHO_NBIB.read_text(encoding="utf-8")
    for old, new in [
        ("DP  - 2017\n", "DP  - 2019 Feb 30\n"),  # 28748004
        ("DP  - 2016 Dec\n", "DP  - Spring 2018\n"),  # 27506154
        ("DP  - 2017 Jun 19\n", "DP  - 1998 Dec 15-31\n"),  # 28630219
    ]:
        assert old in nbib
        nbib = nbib.replace(old, new, 1)
    medline = tmp_path / "dates.nbib"
    medline.write_text(nbib, encoding="utf-8")
    xml = ORTHO_XML.read_text(encoding="utf-8").replace(
        "<MedlineDate>2014 May-Jun</MedlineDate>", "<MedlineDate>Spring 2018</MedlineDate>"
    )
    assert "Spring 2018" in xml
    pubmed_xml = tmp_path / "dates.xml"  # MedlineDate of 25238468
    pubmed_xml.write_text(xml, encoding="utf-8")
    index, xml_index = tmp_path / "ix", tmp_path / "xml-ix"
    done = process(index, "ingest", str(medline), "--procs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    done = process(xml_index, "ingest", str(pubmed_xml), "--procs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    found = {}
    for where, pmid in [
        (index, "28748004"),
        (index, "27506154"),
        (xml_index, "25238468"),
        (index, "28630219"),
    ]:
        shown = process(where, "show", pmid, "--format", "json")
        assert shown.returncode == 0, shown.stderr
        found[pmid] = (json.loads(shown.stdout)["year"], json.loads(shown.stdout)["pub_date"])
    assert found == {
        "28748004": (2019, "2019-02"),
        "27506154": (2018, "2018"),
        "25238468": (2018, "2018"),
        "28630219": (1998, "1998-12-15"),
    }
    for where, pmid in [(index, "27506154"), (xml_index, "25238468")]:
        spring = process(where, "search", "2018[dp]", "--format", "pmid")
        assert spring.returncode == 0, spring.stderr
        assert spring.stdout.split() == [pmid]
    ris = process(index, "show", "28748004", "--format", "ris")
    assert ris.returncode == 0, ris.stderr
    assert "DA  - 2019/02\n" in ris.stdout.replace("\r\n", "\n")
