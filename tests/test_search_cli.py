"""The query language and search options end to end through the CLI, on the bundled
sample (the session-wide ``sample_index_dir``)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from searchkit import SearchIndex
from searchkit.cli import app

from .conftest import SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()


def run(index: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--index", str(index)])


def pmids(index: Path, query: str, *options: str) -> list[str]:
    result = run(index, "search", query, "-f", "pmid", "-n", "5000", *options)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


def hits(index: Path, query: str, *options: str) -> list[dict]:
    result = run(index, "search", query, "-f", "jsonl", "-n", "5000", *options)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def records(index: Path, query: str, *options: str) -> list[dict]:
    """Whole records of the hits (via --fields)."""
    fields = "pmid,title,abstract,year,date,journal,journal_abbrev,authors,keywords,mesh,types"
    return hits(index, query, "--fields", fields, *options)


def test_tagged_title_words_find_the_seed(sample_index_dir: Path) -> None:
    result = run(
        sample_index_dir, "search", "cancer stem cells[ti] AND privilege[ti]", "-f", "pmid"
    )
    assert result.exit_code == 0
    assert result.stdout.split() == [SEED_PMID]
    assert result.stderr == ""


@pytest.mark.slow
def test_dp_range_and_year_option_return_only_those_years(sample_index_dir: Path) -> None:
    tagged = hits(sample_index_dir, "2015:2019[dp]")
    assert len(tagged) > 1000
    assert {h["year"] for h in tagged} == {2015, 2016, 2017, 2018, 2019}
    filtered = hits(sample_index_dir, "cancer", "--year", "2015..2019")
    assert filtered and all(2015 <= h["year"] <= 2019 for h in filtered)
    everything = hits(sample_index_dir, "cancer")
    in_range = [h["pmid"] for h in everything if h["year"] and 2015 <= h["year"] <= 2019]
    assert sorted(h["pmid"] for h in filtered) == sorted(in_range)
    assert all(h["year"] >= 2018 for h in hits(sample_index_dir, "cancer", "--year", "2018.."))
    assert all(h["year"] <= 2000 for h in hits(sample_index_dir, "cancer", "--year", "..2000"))
    same = hits(sample_index_dir, "year:2015..2019")
    assert {h["pmid"] for h in same} == {h["pmid"] for h in tagged}


def test_not_excludes(sample_index_dir: Path) -> None:
    cancer = set(pmids(sample_index_dir, "cancer"))
    mice = set(pmids(sample_index_dir, "mice"))
    without = set(pmids(sample_index_dir, "cancer NOT mice"))
    assert cancer & mice, "the sample should have records with both words"
    assert without == cancer - mice


@pytest.mark.slow
def test_or_and_parentheses(sample_index_dir: Path) -> None:
    a = set(pmids(sample_index_dir, "psoas"))
    b = set(pmids(sample_index_dir, "zebrafish"))
    assert set(pmids(sample_index_dir, "psoas OR zebrafish")) == a | b
    c = set(pmids(sample_index_dir, "abscess"))
    assert set(pmids(sample_index_dir, "(psoas OR zebrafish) AND abscess")) == (a | b) & c


_ADJACENT = re.compile(r"\bimmune[\s-]+escap", re.IGNORECASE)


def test_a_phrase_beats_its_scattered_words(sample_index_dir: Path) -> None:
    phrase = records(sample_index_dir, '"immune escape"')
    words = records(sample_index_dir, "immune escape")
    assert phrase[0]["pmid"] == SEED_PMID
    assert {r["pmid"] for r in phrase} < {r["pmid"] for r in words}
    phrase_ids = {r["pmid"] for r in phrase}

    def text(r: dict) -> str:
        return " ".join([r["title"] or "", r["abstract"] or "", *r["keywords"]])

    assert all(_ADJACENT.search(text(r)) for r in phrase)
    scattered = [r for r in words if r["pmid"] not in phrase_ids]
    assert scattered and not any(_ADJACENT.search(text(r)) for r in scattered)


def test_proximity_matches_words_near_each_other_in_any_order(sample_index_dir: Path) -> None:
    # The seed's title says "Tumor Immune Escape": not the exact phrase, but within 5 words.
    assert SEED_PMID not in pmids(sample_index_dir, '"tumor escape"')
    assert SEED_PMID in pmids(sample_index_dir, '"tumor escape"~5')
    assert SEED_PMID in pmids(sample_index_dir, '"escape tumor"~5')
    # PubMed's form counts the words in between ("Tumor Immune Escape": one).
    assert SEED_PMID in pmids(sample_index_dir, '"tumor escape"[ti:~1]')
    assert SEED_PMID not in pmids(sample_index_dir, '"tumor escape"[ti:~0]')
    assert SEED_PMID in pmids(sample_index_dir, '"escape tumor"[tiab:~1]')


def test_affiliation_proximity_in_pubmeds_form(sample_index_dir: Path) -> None:
    """PubMed searches proximity in the affiliation field too: ``"a b"[ad:~N]``, at
    most N words between them, any order (as ``"a b"~N+1`` tagged ``[ad]``)."""
    near = hits(sample_index_dir, '"hospital university"[ad:~2]', "--fields", "pmid,affiliations")
    assert near and [h["pmid"] for h in near] == pmids(
        sample_index_dir, '"hospital university"~3[ad]'
    )
    assert all(
        re.search(r"\bhospital", " ".join(h["affiliations"]), re.IGNORECASE)
        and re.search(r"\buniversit", " ".join(h["affiliations"]), re.IGNORECASE)
        for h in near
    )
    # Side by side in either order: the exact phrase's records among them, and all of
    # them among those with up to two words between.
    exact = set(pmids(sample_index_dir, '"university hospital"[ad]'))
    adjacent = set(pmids(sample_index_dir, '"hospital university"[ad:~0]'))
    assert exact and exact <= adjacent < {h["pmid"] for h in near}


def test_truncation(sample_index_dir: Path) -> None:
    found = records(sample_index_dir, "immunotherap*[ti]")
    assert found
    assert all(re.search(r"\bimmunotherap", r["title"], re.IGNORECASE) for r in found)


def test_author_tag(sample_index_dir: Path) -> None:
    found = records(sample_index_dir, "smith j[au]")
    assert len(found) == 5
    assert all(any(a.startswith("Smith J") for a in r["authors"]) for r in found)
    assert {r["pmid"] for r in records(sample_index_dir, "Smith JA[AU]")} == {
        r["pmid"] for r in found if "Smith JA" in r["authors"]
    }
    assert pmids(sample_index_dir, 'author:"smith j"') == [r["pmid"] for r in found]


@pytest.mark.slow
def test_mesh_and_major_topic(sample_index_dir: Path) -> None:
    mesh = records(sample_index_dir, "nasopharyngeal neoplasms[mh]")
    major = records(sample_index_dir, "nasopharyngeal neoplasms[majr]")
    assert len(major) >= 100
    assert {r["pmid"] for r in major} <= {r["pmid"] for r in mesh}
    assert all("Nasopharyngeal Neoplasms" in r["mesh"] for r in mesh)
    abscess = set(pmids(sample_index_dir, "psoas abscess[mh]"))
    assert abscess and abscess == set(pmids(sample_index_dir, 'mesh:"psoas abscess"'))


def test_journal_by_abbreviation_or_full_title(sample_index_dir: Path) -> None:
    abbrev = pmids(sample_index_dir, "inorg chem[ta]")
    full = pmids(sample_index_dir, "Inorganic Chemistry[jour]")
    assert len(abbrev) == 24
    assert sorted(abbrev) == sorted(full) == sorted(pmids(sample_index_dir, 'journal:"Inorg Chem"'))
    filtered = records(sample_index_dir, "complex", "--journal", "Inorganic chemistry")
    assert filtered and all(r["journal_abbrev"] == "Inorg Chem" for r in filtered)


@pytest.mark.slow
def test_publication_type_language_and_pmid(sample_index_dir: Path) -> None:
    reviews = records(sample_index_dir, "review[pt]")
    assert len(reviews) == 82 and all("Review" in r["types"] for r in reviews)
    typed = records(sample_index_dir, "cancer", "--type", "Review")
    assert typed and all("Review" in r["types"] for r in typed)
    assert sorted(pmids(sample_index_dir, "english[lang]")) == sorted(
        pmids(sample_index_dir, "eng[la]")
    )
    assert pmids(sample_index_dir, f"{SEED_PMID}[pmid]") == [SEED_PMID]
    assert pmids(sample_index_dir, f"{SEED_PMID}[UID]") == [SEED_PMID]


def test_explain_prints_the_parse_on_stderr(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "privilege[ti] NOT mice", "--explain", "-f", "pmid")
    assert result.exit_code == 0
    assert result.stdout.split() == [SEED_PMID]
    assert "parsed: (title:(privilege) NOT words(mice))" in result.stderr
    assert "whoosh: " in result.stderr


@pytest.mark.slow
def test_count_offset_and_date_sort(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "cancer", "--count")
    assert result.exit_code == 0
    assert result.stdout == f"{len(pmids(sample_index_dir, 'cancer'))}\n"
    result = run(sample_index_dir, "search", "cancer", "--count", "--year", "2015..2019")
    assert int(result.stdout) == len(pmids(sample_index_dir, "cancer", "--year", "2015..2019"))
    first = pmids(sample_index_dir, "lung cancer", "-n", "10")
    assert pmids(sample_index_dir, "lung cancer", "-n", "5", "--offset", "5") == first[5:10]
    past = run(sample_index_dir, "search", "cancer", "--offset", "5000")
    assert past.exit_code == 0 and past.stderr == ""
    assert past.stdout == f"0 of {len(pmids(sample_index_dir, 'cancer'))} matching records shown.\n"
    dated = records(sample_index_dir, "cancer", "--sort", "date", "-n", "50")
    keys = [r["date"] or "" for r in dated]
    assert keys == sorted(keys, reverse=True)
    assert dated[0]["year"] == max(h["year"] or 0 for h in hits(sample_index_dir, "cancer"))


def test_fields_choose_columns(sample_index_dir: Path) -> None:
    result = run(
        sample_index_dir,
        "search",
        "immune escape",
        "-n",
        "3",
        "-f",
        "csv",
        "--fields",
        "pmid,year,title",
    )
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["pmid", "year", "title"] and len(rows) == 4
    result = run(
        sample_index_dir,
        "search",
        "immune escape",
        "-n",
        "2",
        "-f",
        "json",
        "--fields",
        "pmid,snippet,highlights",
    )
    data = json.loads(result.stdout)
    assert [set(h) for h in data["hits"]] == [{"pmid", "snippet", "highlights"}] * 2
    for h in data["hits"]:
        for start, end in h["highlights"]:
            assert h["snippet"][start:end].lower().startswith(("immun", "escap"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "cancer", "--fields", "pmid,nope", "-f", "csv"], "unknown column 'nope'"),
        (["search", "cancer", "--fields", "pmid"], "--fields works with --format"),
        (["search", "cancer", "--year", "2019..2015"], "--year: the year range"),
        (["search", "cancer", "--year", "soon"], "--year: 'soon' is not a year"),
        (["search", '"tumor escape'], 'unbalanced quote: this " is never closed (at position 1)'),
        (["search", "(cancer OR stem"], "unbalanced '(': no ')' after it (at position 1)"),
        (["search", "cancer[xx]"], "unknown field tag [xx]"),
        (["search", "2019:2015[dp]"], "runs backwards (at position 1)"),
        (
            ["search", "NOT cancer"],
            "NOT needs a term before it: write 'A NOT B' to exclude B (at position 1)",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    sample_index_dir: Path, args: list[str], message: str
) -> None:
    result = run(sample_index_dir, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]


def test_did_you_mean(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "imune escpe")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        'Did you mean: "immune escape"?',
        "No records match 'imune escpe'.",
    ]
    tagged = run(sample_index_dir, "search", "privlege[ti] AND smith j[au]", "-f", "pmid")
    assert 'Did you mean: "privilege[ti] AND smith j[au]"?' not in tagged.stderr
    assert "smith" not in tagged.stderr.replace("smith j[au]", "")
    phrase = run(sample_index_dir, "search", '"imune escape"', "-f", "pmid")
    assert phrase.stderr == "Did you mean: '\"immune escape\"'?\n"
    tag = run(sample_index_dir, "search", "imune[ti] AND escape", "-f", "pmid")
    assert tag.stderr == 'Did you mean: "immune[ti] AND escape"?\n'
    good = run(sample_index_dir, "search", "immune escape", "-f", "pmid")
    assert "Did you mean" not in good.stderr


def test_similar_finds_immune_evasion_papers_not_itself(sample_index_dir: Path) -> None:
    result = run(
        sample_index_dir,
        "similar",
        SEED_PMID,
        "-n",
        "5",
        "-f",
        "json",
        "--fields",
        "pmid,title,snippet",
    )
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)["hits"]
    assert len(found) == 5
    assert SEED_PMID not in [h["pmid"] for h in found]
    top = " ".join((h["title"] + " " + h["snippet"]).lower() for h in found[:2])
    assert "immun" in top
    missing = run(sample_index_dir, "similar", "1")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: no record with PMID 1")


def test_search_and_show_export_formats(sample_index_dir: Path) -> None:
    ris = run(sample_index_dir, "show", SEED_PMID, "-f", "ris").stdout
    assert ris.startswith("TY  - JOUR\n")
    assert f"AN  - {SEED_PMID}\n" in ris and ris.endswith("ER  - \n")
    medline = run(sample_index_dir, "show", SEED_PMID, "-f", "medline").stdout
    assert medline.startswith(f"PMID- {SEED_PMID}\nTI  - The Immune Privilege")
    assert "OT  - immune escape" in medline
    assert run(sample_index_dir, "show", SEED_PMID, "-f", "pmid").stdout == f"{SEED_PMID}\n"
    row = run(sample_index_dir, "show", SEED_PMID, "-f", "csv").stdout.splitlines()
    assert row[0] == "pmid,year,journal,title,authors,doi"
    assert json.loads(run(sample_index_dir, "show", SEED_PMID, "-f", "jsonl").stdout)["pmid"]
    many = run(sample_index_dir, "search", "psoas abscess", "-n", "3", "-f", "ris").stdout
    assert many.count("TY  - ") == 3 and many.count("ER  - ") == 3


@pytest.mark.slow
def test_medline_export_round_trips_through_ingest(sample_index_dir: Path, tmp_path: Path) -> None:
    query = "cell OR patients"
    exported = run(sample_index_dir, "search", query, "-n", "200", "-f", "medline")
    assert exported.exit_code == 0
    path = tmp_path / "export.nbib"
    path.write_text(exported.stdout, "utf-8")
    fresh = tmp_path / "fresh"
    result = runner.invoke(app, ["ingest", str(path), "--index", str(fresh)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("Added 200 records from 1 file in ")
    assert "skipped" not in result.stderr
    original = run(sample_index_dir, "search", query, "-n", "200", "-f", "pmid").stdout.split()
    again = run(fresh, "search", query, "-n", "200", "-f", "pmid").stdout.split()
    assert len(original) == 200 and sorted(again) == sorted(original)
    sample, copy = SearchIndex.open(sample_index_dir), SearchIndex.open(fresh)
    for pmid in original:
        before, after = sample.get(pmid).to_dict(), copy.get(pmid).to_dict()
        # MEDLINE lines are whitespace-joined, as in PubMed's own files.
        before = {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in before.items()}
        assert after == before, pmid


def test_search_help_shows_the_field_tags() -> None:
    result = runner.invoke(app, ["search", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "[ti]" in text and "[dp]" in text and "smith j[au]" in text


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("privilege[tiab]", "privilege[ti] OR privilege[ab]"),
        ("privilege[ab]", "abstract:privilege"),
        ("stem cells[tiab]", "tiab:stem AND tiab:cells"),
        ('"immune escape"[ot]', 'keyword:"immune escape"'),
        ('"immune escape"[kw]', '"immune escape"[OT]'),
        ("2019[pdat]", "year:2019"),
        ("review[pt]", "type:review"),
        ("eng[lang]", "lang:eng"),
        ("psoas abscess[majr]", 'majr:"psoas abscess"'),
    ],
)
@pytest.mark.slow
def test_tags_and_field_prefixes_agree(sample_index_dir: Path, left: str, right: str) -> None:
    found = pmids(sample_index_dir, left)
    assert found
    assert sorted(found) == sorted(pmids(sample_index_dir, right))


def test_abstract_and_keyword_tags_find_the_seed(sample_index_dir: Path) -> None:
    assert SEED_PMID in pmids(sample_index_dir, "privileged status[ab]")
    assert SEED_PMID in pmids(sample_index_dir, '"immune escape"[ot]')
    # Regression: Whoosh's AndNot let the first positive document through when the
    # excluded matcher started on an earlier document.
    assert pmids(sample_index_dir, "privilege[ti]") == [SEED_PMID]
    assert pmids(sample_index_dir, "privilege[ti] NOT immune escape[kw]") == []
    count = run(sample_index_dir, "search", "privilege[ti] NOT immune escape[kw]", "--count")
    assert count.stdout == "0\n"


MEDLINE_2018 = TEST_DATA / "medline" / "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt"
SCIFACT_HEAD = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"


@pytest.mark.slow
@pytest.mark.parametrize("undated_records", [3, 12])
def test_date_sort_over_segments_where_one_has_no_dates(
    tmp_path: Path, undated_records: int
) -> None:
    """Issue 16: records without a date (BEIR JSONL) committed in one segment, dated
    MEDLINE records in the next. Whoosh's multi-segment column reader leaves out the
    segment without dates and looks its documents up in the other segment's column,
    which raised IndexError."""
    lines = SCIFACT_HEAD.read_text(encoding="utf-8").splitlines()[:undated_records]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = tmp_path / "ix"
    for source in (corpus, MEDLINE_2018):  # two ingests: two commits, two segments
        result = run(index, "ingest", str(source), "--procs", "1")
        assert result.exit_code == 0, result.stderr
    with SearchIndex.open(index).searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) == 2
    undated = [json.loads(line)["_id"] for line in lines]
    dated = re.findall(r"^PMID- (\d+)", MEDLINE_2018.read_text(encoding="utf-8"), re.M)
    query = " OR ".join(f"{pmid}[pmid]" for pmid in undated + dated)
    result = run(
        index, "search", query, "--sort", "date", "-n", "50", "-f", "jsonl", "--fields", "pmid,date"
    )
    assert result.exit_code == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    newest, rest = found[: len(dated)], found[len(dated) :]
    assert [h["date"] for h in newest] == [
        "2018-07-24",
        "2018-07-20",
        "2018-07-01",
        "2018-06",
        "2018-01",
        "2018-01",
        "2018",
    ]
    assert sorted(h["pmid"] for h in newest) == sorted(dated)
    assert sorted(h["pmid"] for h in rest) == sorted(undated)
    assert all(h["date"] is None for h in rest)
    if undated_records < 12:
        return  # one real process is enough: the one below, with more undated records
    process = subprocess.run(
        [_searchkit_exe(), "search", query, "--sort", "date", "-n", "50", "-f", "pmid"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SEARCHKIT_INDEX": str(index)},
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.split() == [h["pmid"] for h in found]


def test_snippets_highlight_the_query_words_of_the_abstract(sample_index_dir: Path) -> None:
    """``searchkit search --format json`` as a process: every hit whose abstract holds a
    query word shows it highlighted, the title holding it or not."""
    process = subprocess.run(
        [_searchkit_exe(), "search", "immune escape MHC", "-f", "json",
         "--index", str(sample_index_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    found = json.loads(process.stdout)["hits"]
    assert len(found) == 10
    for hit in found:
        spans = hit["highlights"]
        assert spans, hit["pmid"]
        for start, end in spans:  # a word, a compound holding one (MHC-I), a long form
            written = hit["snippet"][start:end]
            assert re.search(r"immun|escape|mhc|major|histocompatibility|complex", written, re.I)
        for m in re.finditer(r"\b(?:immune|escape|MHC)\b", hit["snippet"], re.I):
            assert any(s <= m.start() and m.end() <= e for s, e in spans), (hit["pmid"], m)


#: data/ holds both: "CDK12 regulates DNA repair genes…" and the Olig2 record, whose
#: abstract names CDK1/2 (the kinases CDK1 and CDK2) and never CDK12.
CDK12_PMID, CDK1_2_PMID = "30487607", "28355568"


def test_a_gene_name_does_not_match_numbered_alternatives(sample_index_dir: Path) -> None:
    """``CDK12`` finds the CDK12 record only, and its count is 1 (PubMed's): the
    Olig2 record's "CDK1/2" is not CDK12. ``CDK1/2`` as written still finds it: first
    in free text (then records naming CDK1, a part of it, as ``PD-L1`` finds ``PD``'s,
    or its long form), alone as a phrase or tagged."""
    assert pmids(sample_index_dir, "CDK12") == [CDK12_PMID]
    assert pmids(sample_index_dir, "CDK12[tiab]") == [CDK12_PMID]
    assert pmids(sample_index_dir, '"CDK1/2"') == [CDK1_2_PMID]
    assert pmids(sample_index_dir, "CDK1/2[tiab]") == [CDK1_2_PMID]
    found = records(sample_index_dir, "CDK1/2")
    assert found[0]["pmid"] == CDK1_2_PMID
    for hit in found[1:]:
        text = hit["title"] + " " + hit["abstract"]
        assert re.search(r"\bCDK1\b|cyclin-dependent kinase 1\b", text, re.I), hit["pmid"]
    process = subprocess.run(
        [_searchkit_exe(), "search", "CDK12", "--index", str(sample_index_dir)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert CDK12_PMID in process.stdout and CDK1_2_PMID not in process.stdout
    assert "1 of 1 matching record" in process.stdout


@pytest.mark.parametrize(("acronym", "plural"), [("CSC", "CSCs"), ("MSC", "MSCs"), ("RCT", "RCTs")])
def test_an_acronym_finds_the_records_that_write_its_plural(
    sample_index_dir: Path, acronym: str, plural: str
) -> None:
    """``CSC`` finds the records that only write ``CSCs`` (the seed's "Cancer stem cells
    (CSCs)" among them), as ``tumor`` finds ``tumors``, with the same count as
    ``CSCs``, and their snippets mark the plural; also as a real process."""
    found = pmids(sample_index_dir, acronym)
    assert found and sorted(found) == sorted(pmids(sample_index_dir, plural))
    assert not pmids(sample_index_dir, f"{plural} NOT {acronym}")
    marked = _highlighted(sample_index_dir, acronym)
    assert any(plural in words for words in marked.values())
    if acronym == "CSC":
        assert SEED_PMID in found
    process = subprocess.run(
        [_searchkit_exe(), "search", acronym, "--count", "--index", str(sample_index_dir)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert int(process.stdout) == len(found)


def _highlighted(index: Path, query: str) -> dict[str, list[str]]:
    """Each hit's highlighted text, by PMID, from ``searchkit search -f json``."""
    result = run(index, "search", query, "-f", "json", "-n", "50")
    assert result.exit_code == 0, result.stderr
    return {
        h["pmid"]: [h["snippet"][s:e] for s, e in h["highlights"]]
        for h in json.loads(result.stdout)["hits"]
    }


def test_a_compound_s_parts_are_highlighted_only_side_by_side(sample_index_dir: Path) -> None:
    """``IL-6`` searches its parts ``il`` and ``6`` only side by side: snippets mark
    ``IL-6``, ``interleukin 6``, never the ``IL`` of ``IL-17A`` or ``IL-23`` (data/'s
    28088612 lists them before IL-6) nor of ``IL-8`` or ``IL-10``."""
    shown = _highlighted(sample_index_dir, "IL-6")
    assert "IL-6" in shown["28088612"]
    codes = [t for marked in shown.values() for t in marked if re.fullmatch(r"IL-\w+", t)]
    assert len(codes) > 10 and set(codes) == {"IL-6"}
    assert shown["24120915"][:3] == ["Interleukin", "6", "IL-6"]


def test_a_quoted_phrase_is_highlighted_where_it_occurs(sample_index_dir: Path) -> None:
    """``"immune escape"`` marks its words only as the phrase, in order: never a lone
    "immune" nor "escape immune"."""
    shown = _highlighted(sample_index_dir, '"immune escape"')
    assert shown
    for marked in shown.values():
        assert marked and len(marked) % 2 == 0, marked
        pairs = list(zip(marked[::2], marked[1::2], strict=True))
        assert all((a.lower(), b.lower()) == ("immune", "escape") for a, b in pairs), marked


def test_a_long_form_is_highlighted_as_a_phrase(sample_index_dir: Path) -> None:
    """``MHC`` also searches its long form *major histocompatibility complex* as a
    phrase; a snippet marks its words there (the seed), not the "complex" of "18 complex
    human traits" (data/'s 26340901). As a real process."""
    process = subprocess.run(
        [_searchkit_exe(), "search", "immune escape MHC", "-f", "json", "-n", "30",
         "--index", str(sample_index_dir)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    hits = {h["pmid"]: h for h in json.loads(process.stdout)["hits"]}
    seed = [hits[SEED_PMID]["snippet"][s:e] for s, e in hits[SEED_PMID]["highlights"]]
    assert seed[:3] == ["major", "histocompatibility", "complex"]
    other = hits["26340901"]
    assert "complex" not in [other["snippet"][s:e] for s, e in other["highlights"]]


def test_numbers_joined_by_a_hyphen_or_colon_make_no_other_number(
    sample_index_dir: Path,
) -> None:
    """ "1:1" is no 11 and "10-12" (an exponent flattened by the export) no 1012: data/'s
    19353626 holds a ratio of 1:1 and no 11, 27759029 and 27596696 hold 10-12 and no
    1012. Each is still found as written."""
    assert "19353626" not in pmids(sample_index_dir, "11")
    assert pmids(sample_index_dir, "1012") == []
    assert "19353626" in pmids(sample_index_dir, '"1:1"')
    assert {"27759029", "27596696"} <= set(pmids(sample_index_dir, "10-12"))


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("cancer[titel]", "did you mean [titl] or [title]?"),
        ("cancer[Text]", "did you mean [text word]?"),
        ("cancer[xx]", "try [ti] [ab] [tiab] [au] [mh] [dp] [pt] [la] (the README lists them all)"),
    ],
)
def test_an_unknown_tag_is_a_short_line_naming_the_nearest_tags(
    sample_index_dir: Path, query: str, hint: str
) -> None:
    """Not every known tag (over a hundred with PubMed's long names: a line of 1,800
    characters), but the ones closest to it, else the common ones."""
    result = runner.invoke(app, ["search", query, "--index", str(sample_index_dir)])
    assert result.exit_code == 2 and result.stdout == ""
    tag = query[query.index("[") : query.index("]") + 1]
    assert result.stderr == f"Error: unknown field tag {tag}: {hint} (at position 7)\n"
    assert len(result.stderr) < 130
