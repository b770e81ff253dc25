"""Searching dates and citation fields with PubMed's tags, through the CLI on the
index of data/. Expected counts are computed from the readers' records, without
the query engine."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from searchkit.cli import app
from searchkit.readers import iter_files, read_file
from searchkit.records import Author, Record

from .conftest import SAMPLE_DIR
from .test_cli import _searchkit_exe, runner


@pytest.fixture(scope="module")
def records() -> list[Record]:
    """The records of data/ as ingest keeps them (the last version of a PMID)."""
    found: dict[str, Record] = {}
    for path in iter_files([SAMPLE_DIR]):
        for item in read_file(path):
            if isinstance(item, Record):
                found[item.pmid] = item
    return list(found.values())


def _count(index: Path, query: str) -> int:
    result = runner.invoke(app, ["search", query, "--count", "--index", str(index)])
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip())


def _pmids(index: Path, query: str) -> set[str]:
    result = runner.invoke(
        app, ["search", query, "--format", "pmid", "--limit", "5000", "--index", str(index)]
    )
    assert result.exit_code == 0, result.output
    return set(result.stdout.split())


def _first_day(date: str | None) -> str | None:
    """ "2014-09" → "2014-09-01": an incomplete date is its first day."""
    if not date:
        return None
    parts = [*date.split("-"), "01", "01"]
    return "-".join(parts[:3])


def _dated(records: list[Record], get: Callable[[Record], str | None], low: str, high: str) -> int:
    return sum(1 for r in records if (d := _first_day(get(r))) is not None and low <= d <= high)


def _pub(r: Record) -> str | None:
    return r.pub_date or (str(r.year) if r.year is not None else None)


def test_a_month_finds_that_month_only(sample_index_dir: Path, records: list[Record]) -> None:
    expected = _dated(records, _pub, "2014-09-01", "2014-09-31")
    assert expected == 24  # the issue's count, by hand
    assert _count(sample_index_dir, "2014/09[dp]") == expected
    assert _count(sample_index_dir, "2014[dp]") == _dated(records, _pub, "2014-01-01", "2014-12-31")


def test_a_day_range(sample_index_dir: Path, records: list[Record]) -> None:
    expected = _dated(records, _pub, "2015-06-15", "2016-03-01")
    assert expected == 264
    assert _count(sample_index_dir, "2015/06/15:2016/03/01[dp]") == expected
    assert _count(sample_index_dir, "2015/06/15:2016/03/01[Publication Date]") == expected
    assert _count(sample_index_dir, "2015/06/15:2016/03/01[pdat]") == expected


def test_a_year_only_date_counts_as_january_first(
    sample_index_dir: Path, records: list[Record]
) -> None:
    year_only = {r.pmid for r in records if r.pub_date == "2014"}
    assert year_only
    assert year_only <= _pmids(sample_index_dir, "2014/01[dp]")
    assert not year_only & _pmids(sample_index_dir, "2014/02:2014/12[dp]")


def test_a_medline_date_range_keeps_its_first_month(records: list[Record]) -> None:
    path = SAMPLE_DIR / "solitude6060_Fulltext_search__pubmed_result.xml.gz"
    dates = {r.pub_date for r in read_file(path) if isinstance(r, Record)}
    assert "2014-09" in dates  # <MedlineDate>2014 Sep-Oct</MedlineDate>


def test_3000_is_an_open_end(sample_index_dir: Path, records: list[Record]) -> None:
    expected = _dated(records, _pub, "2018-01-01", "9999-12-31")
    assert expected > 0
    assert _count(sample_index_dir, "2018:3000[dp]") == expected
    assert _count(sample_index_dir, "2018/01/01:3000[dp]") == expected


@pytest.mark.parametrize(
    ("tag", "field"),
    [
        ("edat", "entrez_date"),
        ("Entrez Date", "entrez_date"),
        ("crdt", "create_date"),
        ("Date - Create", "create_date"),
        ("mhda", "mesh_date"),
        ("MeSH Date", "mesh_date"),
    ],
)
def test_history_dates(tag: str, field: str, sample_index_dir: Path, records: list[Record]) -> None:
    def get(r: Record) -> str | None:
        return getattr(r, field)  # type: ignore[no-any-return]

    expected = _dated(records, get, "2018-03-01", "2018-09-31")
    assert expected > 0
    assert _count(sample_index_dir, f"2018/03:2018/09[{tag}]") == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("2014/13[dp]", "no month 13"),
        ("2016:2015[dp]", "runs backwards"),
        ("2014/09/32[edat]", "no day 32"),
        ("sept[dp]", "not a date"),
    ],
)
def test_bad_dates_are_one_error_line(sample_index_dir: Path, query: str, message: str) -> None:
    result = runner.invoke(app, ["search", query, "--index", str(sample_index_dir)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.startswith("Error:")
    assert len(result.stderr.strip().splitlines()) == 1


def _people(r: Record) -> list[Author]:
    return [a for a in r.authors if not a.collective]


def _surname_is(author: Author, surname: str) -> bool:
    """Whether ``surname`` is the surname or a part of a hyphenated one (as for
    [au], "smith" finds "Radford-Smith GL")."""
    return surname in author.name.lower().rsplit(" ", 1)[0].replace("-", " ").split()


def test_first_and_last_author(sample_index_dir: Path, records: list[Record]) -> None:
    first = {r.pmid for r in records if _people(r) and _surname_is(_people(r)[0], "smith")}
    last = {r.pmid for r in records if _people(r) and _surname_is(_people(r)[-1], "smith")}
    assert first and last
    assert _pmids(sample_index_dir, "smith[1au]") == first
    assert _pmids(sample_index_dir, "smith[Author - First]") == first
    assert _pmids(sample_index_dir, "smith[lastau]") == last
    assert _pmids(sample_index_dir, "smith[au]") > first | last


def test_full_author_name(sample_index_dir: Path, records: list[Record]) -> None:
    expected = {r.pmid for r in records for a in r.authors if a.full_name == "Pastore, Guido"}
    assert expected
    assert _pmids(sample_index_dir, "Pastore, Guido[fau]") == expected
    assert _pmids(sample_index_dir, "pastore guido[Author - Full]") == expected


def test_collective_author(sample_index_dir: Path, records: list[Record]) -> None:
    expected = {
        r.pmid
        for r in records
        for a in r.authors
        if a.collective and "trep group" in a.name.lower()
    }
    assert expected
    assert _pmids(sample_index_dir, "TREP Group[cn]") == expected
    assert _pmids(sample_index_dir, '"trep group"[Author - Corporate]') == expected
    assert _count(sample_index_dir, "IBD Genetics Consortium[cn]") > 0


def test_affiliation(sample_index_dir: Path, records: list[Record]) -> None:
    def has(r: Record, *words: str) -> bool:
        return any(all(w in ad.lower() for w in words) for a in r.authors for ad in a.affiliations)

    expected = {r.pmid for r in records if has(r, "piemonte")}
    assert expected
    assert _pmids(sample_index_dir, "piemonte[ad]") == expected
    assert _pmids(sample_index_dir, "piemonte[Affiliation]") == expected
    assert _pmids(sample_index_dir, "affiliation:piemonte") == expected
    harvard = {r.pmid for r in records if has(r, "harvard")}
    assert len(harvard) > 3
    assert _pmids(sample_index_dir, "harvard[ad]") == harvard


def test_doi(sample_index_dir: Path) -> None:
    for query in (
        "10.1002/pbc.22049[doi]",
        "10.1002/PBC.22049[aid]",
        '"10.1002/pbc.22049"[Location ID]',
        "doi:10.1002/pbc.22049",
    ):
        assert _pmids(sample_index_dir, query) == {"19353626"}, query


def test_volume_issue_pages_issn(sample_index_dir: Path, records: list[Record]) -> None:
    record = next(r for r in records if r.pmid == "19353626")
    assert (record.volume, record.issue, record.pages) == ("53", "2", "152-5")
    assert _pmids(sample_index_dir, "53[vi] AND 2[ip] AND 152[pg]") == {
        r.pmid
        for r in records
        if r.volume == "53" and r.issue == "2" and (r.pages or "").split("-")[0] == "152"
    }
    assert "19353626" in _pmids(sample_index_dir, "152-5[pg]")
    assert _pmids(sample_index_dir, "53[Volume] AND 2[Issue] AND 152-5[Pagination]") == {"19353626"}
    assert _pmids(sample_index_dir, "volume:53 AND issue:2 AND pages:152-5") == {"19353626"}
    issn = {r.pmid for r in records if "1545-5009" in r.issns}
    assert "19353626" in issn
    assert _pmids(sample_index_dir, "1545-5009[is]") == issn
    assert _pmids(sample_index_dir, "1545-5009[ISSN]") == issn


def test_tiab_covers_author_keywords(sample_index_dir: Path) -> None:
    keyword = _pmids(sample_index_dir, '"aerobic capacity"[kw]')
    assert keyword
    assert keyword <= _pmids(sample_index_dir, '"aerobic capacity"[tiab]')
    assert keyword <= _pmids(sample_index_dir, '"aerobic capacity"[Title/Abstract]')


@pytest.mark.slow
def test_text_words_and_all_fields(sample_index_dir: Path) -> None:
    tiab = _pmids(sample_index_dir, "privilege[tiab]")
    mesh = _pmids(sample_index_dir, "neoplastic stem cells[mh]")
    text_words = _pmids(sample_index_dir, "privilege[tw]")
    assert tiab and tiab <= text_words
    assert mesh <= _pmids(sample_index_dir, "neoplastic stem cells[tw]")
    everywhere = _pmids(sample_index_dir, "piemonte[all]")
    assert _pmids(sample_index_dir, "piemonte[ad]") <= everywhere
    assert _pmids(sample_index_dir, "pastore g[All Fields]") >= _pmids(
        sample_index_dir, "pastore g[au]"
    )
    assert text_words <= _pmids(sample_index_dir, "privilege[Text Word]")


def test_nlm_proximity_example_with_the_long_tag(sample_index_dir: Path) -> None:
    long_form = _pmids(sample_index_dir, '"hip pain"[Title/Abstract:~2]')
    assert long_form
    assert long_form == _pmids(sample_index_dir, '"hip pain"[tiab:~2]')


@pytest.mark.slow
def test_long_forms_mean_the_short_tags(sample_index_dir: Path) -> None:
    pairs = [
        ("smith j[au]", "smith j[Author]"),
        ("neoplasms[mh]", "neoplasms[MeSH Terms]"),
        ("review[pt]", "review[Publication Type]"),
        ("eng[la]", "eng[Language]"),
        ("cancer[ti]", "cancer[Title]"),
    ]
    for short, long in pairs:
        assert _pmids(sample_index_dir, short) == _pmids(sample_index_dir, long), long


def test_a_comma_list_of_pmids(sample_index_dir: Path) -> None:
    assert _pmids(sample_index_dir, "24162591,30108519[pmid]") == {"24162591", "30108519"}
    assert _pmids(sample_index_dir, "24162591, 30108519[uid]") == {"24162591", "30108519"}


@pytest.mark.parametrize(
    ("tag", "suggested"),
    [
        ("title/abstrac", "[title/abstract]"),
        ("mesh term", "[mesh terms]"),
        ("first author", "[first author name]"),
        ("entrez dat", "[entrez date]"),
    ],
)
def test_an_unknown_tag_suggests_the_long_forms_near_it(
    sample_index_dir: Path, tag: str, suggested: str
) -> None:
    query = f"cancer[{tag}]"
    result = runner.invoke(app, ["search", query, "--index", str(sample_index_dir)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: unknown field tag [{tag}]: did you mean {suggested}")


@pytest.mark.slow
def test_dates_and_tags_in_a_real_process(sample_index_dir: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    result = subprocess.run(
        [_searchkit_exe(), "search", "2014/09[dp] AND 24162591,30108519[pmid]", "--count"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"  # 24162591 is of September 2014, 30108519 of 2018


def test_fields_output_has_the_citation_columns(sample_index_dir: Path) -> None:
    columns = "pmid,volume,issue,pages,issns,collective_authors,entrez_date,create_date,mesh_date"
    result = runner.invoke(
        app,
        [
            "search",
            "19353626[pmid]",
            "--format",
            "jsonl",
            "--fields",
            columns,
            "--index",
            str(sample_index_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "pmid": "19353626",
        "volume": "53",
        "issue": "2",
        "pages": "152-5",
        "issns": ["1545-5017", "1545-5009"],
        "collective_authors": ["TREP Group", "CSD of Epidemiology Biostatistics, AIEOP"],
        "entrez_date": "2009-04-09",
        "create_date": "2009-04-09",
        "mesh_date": "2009-07-10",
    }


def test_json_lines_dates_written_by_hand(tmp_path: Path) -> None:
    source = tmp_path / "mine.jsonl"
    lines = [
        {"pmid": "1", "title": "a", "pub_date": "2014-9", "entrez_date": "2014-09-30"},
        {"pmid": "2", "title": "b", "pub_date": "2014"},  # the year only
        {"pmid": "3", "title": "c", "year": 2014},
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    index = tmp_path / "ix"
    result = runner.invoke(app, ["ingest", str(source), "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert _pmids(index, "2014/09[dp]") == {"1"}
    assert _pmids(index, "2014/01/01[dp]") == {"2", "3"}
    assert _pmids(index, "2014/09/30[edat]") == {"1"}
