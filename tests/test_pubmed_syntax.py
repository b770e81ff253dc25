"""PubMed's reading of a pasted query: operators left to right, and wildcards.

Expected sets come from :mod:`tests.reference_sets` (the stored records analysed
again, terms looked up directly), never from the query engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from searchkit import Record, SearchIndex, search
from searchkit.cli import app
from searchkit.errors import QueryError
from searchkit.query.tags import UNSUPPORTED_TAGS

from .cli_helpers import process
from .conftest import SAMPLE_DIR
from .reference_sets import (
    TEXT_FIELDS,
    analysed_records,
    having,
    pattern,
    query_term,
    with_sequence,
    with_term_starting,
    with_written_word,
    written_word_terms,
)

runner = CliRunner()


def _pmids(index_dir: Path, query: str) -> set[str]:
    result = runner.invoke(
        app, ["search", "--index", str(index_dir), "-f", "pmid", "-n", "100000", "--", query]
    )
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())


def _count(index_dir: Path, query: str) -> int:
    result = runner.invoke(app, ["search", "--index", str(index_dir), "--count", "--", query])
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


@pytest.mark.parametrize(
    ("query", "combine"),
    [
        ("cancer OR tumor AND mice", lambda c, t, m: (c | t) & m),
        ("cancer OR tumor NOT mice", lambda c, t, m: (c | t) - m),
        ("cancer AND tumor OR mice", lambda c, t, m: (c & t) | m),
        ("mice NOT tumor AND cancer", lambda c, t, m: (m - t) & c),
        ("cancer NOT mice OR tumor NOT mice", lambda c, t, m: ((c - m) | t) - m),
        ("cancer OR (tumor AND mice)", lambda c, t, m: c | (t & m)),
        ("cancer AND NOT mice OR tumor", lambda c, t, m: (c - m) | t),
    ],
)
@pytest.mark.slow
def test_operators_are_read_left_to_right_as_in_pubmed(
    sample_index_dir: Path, query: str, combine: object
) -> None:
    c, t, m = (having(sample_index_dir, w) for w in ("cancer", "tumor", "mice"))
    expected = combine(c, t, m)  # type: ignore[operator]
    assert expected  # a set that shows something
    assert _pmids(sample_index_dir, query) == expected
    assert _count(sample_index_dir, query) == len(expected)


def test_the_two_readings_differ_on_the_sample(sample_index_dir: Path) -> None:
    c, t, m = (having(sample_index_dir, w) for w in ("cancer", "tumor", "mice"))
    assert (c | t) & m != c | (t & m)  # so the test above tells the readings apart
    assert _count(sample_index_dir, "cancer OR tumor AND mice") == len((c | t) & m)
    assert _count(sample_index_dir, "cancer OR (tumor AND mice)") == len(c | (t & m))


def test_explain_shows_the_left_to_right_grouping(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "--index", str(sample_index_dir), "--explain", "--count", "cancer OR tumor "
         "NOT mice AND stem cells"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    parsed = result.stderr.splitlines()[0]
    assert parsed == (
        "parsed: (((words(cancer) OR words(tumor)) NOT words(mice)) AND words(stem cells))"
    )


@pytest.mark.slow
def test_a_run_of_words_is_one_operand_of_the_chain(sample_index_dir: Path) -> None:
    # "stem cells" (one ranked group, whose matching records have both words, as in
    # PubMed) is one operand.
    s, c, m = (having(sample_index_dir, w) for w in ("stem", "cells", "mice"))
    assert _pmids(sample_index_dir, "mice OR stem cells AND cancer") == (
        (m | (s & c)) & having(sample_index_dir, "cancer")
    )
    # A tagged term beside the words is ANDed inside the operand.
    immune_title = having(sample_index_dir, "immune", ("title",))
    assert _pmids(sample_index_dir, "mice AND cancer immune[ti] OR tumor") == (
        (m & having(sample_index_dir, "cancer") & immune_title) | having(sample_index_dir, "tumor")
    )


# -- wildcards -----------------------------------------------------------------------


def _in(terms: set[str]) -> Callable[[str], bool]:
    return terms.__contains__


def _is(word: str) -> Callable[[str], bool]:
    term = query_term(word)
    return lambda t: t == term


@pytest.mark.parametrize(
    ("query", "words", "fields"),
    [
        ('"psoas absc*"', ["psoas", "absc*"], TEXT_FIELDS),
        ("psoas absc*[tiab]", ["psoas", "absc*"], ("title", "abstract")),
        ('"psoas absc*"[ti]', ["psoas", "absc*"], ("title",)),
        ('title:"psoas absc*"', ["psoas", "absc*"], ("title",)),
        ("psoas-absc*", ["psoas", "absc*"], TEXT_FIELDS),
        ('"colo* cancer*"', ["colo*", "cancer*"], TEXT_FIELDS),
        ('"cancer stem cell*"[tiab]', ["cancer", "stem", "cell*"], ("title", "abstract")),
        ("randomi*ed trial*[tiab]", ["randomi*ed", "trial*"], ("title", "abstract")),
    ],
)
def test_wildcards_in_phrases(
    sample_index_dir: Path, query: str, words: list[str], fields: tuple[str, ...]
) -> None:
    tests = [
        _in(written_word_terms(sample_index_dir, w, fields)) if "*" in w else _is(w) for w in words
    ]
    expected = with_sequence(sample_index_dir, tests, fields)
    assert expected
    assert _pmids(sample_index_dir, query) == expected
    assert _count(sample_index_dir, query) == len(expected)


@pytest.mark.parametrize(
    "query",
    [
        "tumo*r",
        "canc*r*",
        "absc*",
        "immun*",
        "lymph*cyt*",
        "randomi*ed",
        "studies*",
        "naïv*",
        "organi*ation*",
        "hospitali*ation",
    ],
)
@pytest.mark.slow
def test_wildcards_match_the_words_as_written(sample_index_dir: Path, query: str) -> None:
    # Against the records' words as written, not their stems: "randomized" is indexed
    # as random, "studies" as studi, and neither stem matches the pattern.
    expected = with_written_word(sample_index_dir, query)
    assert expected
    assert _pmids(sample_index_dir, query) == expected
    assert _pmids(sample_index_dir, f"{query}[ti]") == with_written_word(
        sample_index_dir, query, ("title",)
    )


@pytest.mark.slow
def test_stems_alone_would_miss_words(sample_index_dir: Path) -> None:
    # What the test above guards against: no index term matches these patterns.
    terms = set().union(*(r.terms() for r in analysed_records(sample_index_dir)))
    for query in ("randomi*ed", "hospitali*ation"):
        test = pattern(query)
        assert not any(test(t) for t in terms)
        assert _count(sample_index_dir, query) == len(with_written_word(sample_index_dir, query))
        assert _count(sample_index_dir, query) > 0


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("abs*", "at least 4 characters before the first '*' (as in PubMed): 'abs*'", 4),
        ("cancer im*une", "at least 4 characters before the first '*'", 10),
        ('"psoas ab*"', "'ab*'", 10),
        ("IL-1*", "'IL-1*'", 5),
        ("IL-1*[tiab]", "'IL-1*'", 5),
        ("IL-*-deficient", "'*'", 4),
        ("ab.'c*", "at least 4 characters", 6),
        ('"psoas absc*"~3', "cannot be used in a proximity search", 12),
        ('"psoas absc*"[tiab:~2]', "cannot be used in a proximity search", 12),
        ("2015*[dp]", "not supported for dates", 1),
        ("3457*[pmid]", "not supported for PMIDs", 1),
        ("can*cer res[ta]", "can only come at the end", 4),
    ],
)
def test_a_wildcard_that_cannot_work_is_one_error_line(
    sample_index_dir: Path, query: str, message: str, position: int
) -> None:
    result = runner.invoke(app, ["search", "--index", str(sample_index_dir), "--", query])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert result.stderr.endswith(f"(at position {position})\n")


@pytest.mark.parametrize(
    "query",
    [
        '"psoas absc*"',
        "psoas absc*[tiab]",
        "cancer stem* cells[ti]",
        "title:tumo*r",
        'author:"smit* j"',
        "breast-feed*",
        "IL-10*",
        "COVID-19*[ti]",
        "cancer res*[ta]",
        '"colo* cancer*" AND tumo*r[tiab]',
    ],
)
def test_no_wildcard_is_dropped(sample_index_dir: Path, query: str) -> None:
    result = runner.invoke(
        app, ["search", "--index", str(sample_index_dir), "--explain", "--count", "--", query]
    )
    assert result.exit_code == 0, result.stderr
    whoosh = result.stderr.splitlines()[1]
    assert whoosh.count("*") >= query.count("*"), whoosh


# -- a hyphenated word truncated at its end ----------------------------------------
# ``IL-10*`` was refused: the hyphen split it and ``10*`` was checked alone against
# PubMed's 4 characters before the ``*``. It counts the word as written, and finds
# every term starting with its pieces run together (the index holds ``IL-10`` and
# ``IL10`` as ``il10``, ``IL-10-deficient`` as ``il10deficient`` and ``il10``).


def test_a_truncated_compound_finds_every_term_starting_with_it(sample_index_dir: Path) -> None:
    found = _pmids(sample_index_dir, "IL-10*")
    assert found == with_term_starting(sample_index_dir, "il10")
    assert _count(sample_index_dir, "IL-10*") == len(found)
    # The compound as written, joined, inside a longer one, and longer codes (IL-10R).
    assert found >= (
        _pmids(sample_index_dir, "IL-10[tw]")
        | _pmids(sample_index_dir, "IL10[tw]")
        | _pmids(sample_index_dir, '"IL-10-deficient"')
        | with_term_starting(sample_index_dir, "il10r")
    )
    assert found > _pmids(sample_index_dir, "IL-10[tw]") | _pmids(sample_index_dir, "IL10[tw]")
    tiab = ("title", "abstract", "keywords")
    assert _pmids(sample_index_dir, "IL-10*[tiab]") == with_term_starting(
        sample_index_dir, "il10", tiab
    )
    assert _pmids(sample_index_dir, "IL-10*[ti]") == with_term_starting(
        sample_index_dir, "il10", ("title",)
    )
    # A word's last piece that can be truncated alone: also the phrase of its pieces.
    assert _pmids(sample_index_dir, "breast-feed*") == with_term_starting(
        sample_index_dir, "breastfeed"
    ) | _pmids(sample_index_dir, '"breast feed*"')


@pytest.fixture
def covid_index(tmp_path: Path) -> Path:
    """Records writing COVID-19 in its forms (the sample has none), and two without."""
    path = tmp_path / "covid"
    index = SearchIndex.create(path)
    titles = {
        "1": "COVID-19 outcomes in older adults",
        "2": "COVID-19-related anxiety in nurses",
        "3": "A COVID19 vaccine trial",
        "4": "Children with COVID 19 at home",
        "5": "Post-COVID-19 fatigue",
        "6": "COVID vaccine hesitancy",
        "7": "Influenza in 2019 and 19 other seasons",
    }
    index.upsert([Record(pmid=p, title=t, abstract="A study.") for p, t in titles.items()])
    return path


def test_covid_19_truncated(covid_index: Path) -> None:
    expected = {"1", "2", "3", "4", "5"}
    assert _pmids(covid_index, "COVID-19*") == expected
    assert _pmids(covid_index, "COVID-19*[ti]") == expected
    assert _pmids(covid_index, "COVID-19*[tiab]") == expected
    assert _pmids(covid_index, "COVID-19*") >= _pmids(covid_index, "COVID-19")
    assert _count(covid_index, "COVID-19*") >= _count(covid_index, "COVID-19") > 0
    assert _pmids(covid_index, "COVID-19*[ab]") == set()


def test_a_truncated_compound_through_a_real_process(sample_index_dir: Path) -> None:
    expected = len(with_term_starting(sample_index_dir, "il10"))
    run = process(sample_index_dir, "search", "--count", "--", "IL-10*[tw] OR IL-1*")
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "Error: a wildcard needs at least 4 characters before the first '*' (as in PubMed): "
        "'IL-1*' (at position 19)\n"
    )
    run = process(sample_index_dir, "search", "--count", "--", "IL-10*")
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{expected}\n", "")


@pytest.mark.parametrize(
    ("query", "word", "piece", "at"),
    [
        ('"IL-10* deficiency"', "IL-10*", "10*", 7),
        ('"IL-10*"', "IL-10*", "10*", 7),
        ("IL-10* deficiency[tiab]", "IL-10*", "10*", 6),
        ('"COVID-19* patients"', "COVID-19*", "19*", 10),
    ],
)
def test_a_truncated_compound_in_a_phrase_is_refused_saying_why_and_what_works(
    sample_index_dir: Path, query: str, word: str, piece: str, at: int
) -> None:
    # It was refused as if the rule were broken by the whole word ("'10*' needs 4
    # characters"), while IL-10* alone is searched.
    run = process(sample_index_dir, "search", "--count", "--", query)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        f"Error: in a phrase '{word}' is searched piece by piece, and '{piece}' has fewer "
        f"than 4 characters before the '*'; {word} alone, out of the phrase, finds every "
        f"word starting with it (at position {at})\n"
    )
    assert _count(sample_index_dir, word) > 0 or word == "COVID-19*"  # data/: no COVID


def test_words_a_wildcard_phrase_matched_are_highlighted(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app, ["search", "--index", str(sample_index_dir), "-f", "json", "-n", "3", '"psoas absc*"']
    )
    assert result.exit_code == 0, result.stderr
    for hit in json.loads(result.stdout)["hits"]:
        marked = {hit["snippet"][a:b].lower() for a, b in hit["highlights"]}
        assert "psoas" in marked
        assert any(word.startswith("absc") for word in marked), marked


_PIECES = st.sampled_from(
    [
        *list('abc019 ()"[]*-~'),
        "psoas ",
        "absc*",
        "tumo*r",
        "canc*r*",
        "feed*",
        "breast-",
        "HLA-A*02:01",
        "#1",
        "#2",
        "#9",
        "[tiab]",
        "[ti]",
        "[au]",
        "[ta]",
        "[dp]",
        "[pmid]",
        "title:",
        " AND ",
        " OR ",
        " NOT ",
        "~3",
        "[tiab:~2]",
    ]
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_wildcards_and_references_raise_nothing_but_query_error(
    sample_index_dir: Path, text: str
) -> None:
    index = SearchIndex.open(sample_index_dir)
    refs = {1: '"psoas absc*"', 2: "#1 OR tumo*r[ti]"}
    try:
        result = search(index, text, limit=3, refs=refs, suggest=False)
    except QueryError as exc:
        assert "\n" not in str(exc)
        assert exc.position is None or 0 <= exc.position <= len(text)
        return
    assert result.total + result.partial_total >= len(result.hits)


@pytest.mark.slow
def test_precedence_and_wildcards_through_a_real_process(sample_index_dir: Path) -> None:
    """One real process for each (every case runs in-process above)."""
    c, t, m = (having(sample_index_dir, w) for w in ("cancer", "tumor", "mice"))
    expected = {
        "cancer OR tumor AND mice": len((c | t) & m),
        "psoas absc*[tiab]": len(
            with_sequence(
                sample_index_dir,
                [_is("psoas"), _in(written_word_terms(sample_index_dir, "absc*"))],
                ("title", "abstract"),
            )
        ),
    }
    for query, count in expected.items():
        run = process(sample_index_dir, "search", "--count", "--", query)
        assert (run.returncode, run.stdout, run.stderr) == (0, f"{count}\n", ""), query


@pytest.mark.parametrize("tag", sorted(UNSUPPORTED_TAGS))
def test_a_pubmed_tag_that_cannot_be_searched_is_an_error_saying_why(
    sample_index_dir: Path, tag: str
) -> None:
    query = f"cancer[{tag}]"
    result = runner.invoke(app, ["search", query, "--index", str(sample_index_dir), "--count"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: the PubMed tag [{tag}] cannot be searched here: {UNSUPPORTED_TAGS[tag]} "
        "(at position 7)\n"
    )


def test_the_readme_lists_every_tag_it_cannot_search() -> None:
    readme = (SAMPLE_DIR.parent / "README.md").read_text("utf-8")
    missing = [t for t in UNSUPPORTED_TAGS if f"[{t}]" not in readme.lower()]
    assert not missing, f"README does not list the PubMed tags {missing}"


def test_a_query_of_numbers_alone_finds_those_pmids(sample_index_dir: Path) -> None:
    """PubMed reads a search of numbers alone as PMIDs (several: any of them), with or
    without [uid]; a number among other words is a word, as there."""
    seed, other = "34572009", "28412963"
    assert _pmids(sample_index_dir, seed) == {seed}
    for query in (f"{seed} {other}", f"{seed}, {other}", f" {other},{seed} "):
        assert _pmids(sample_index_dir, query) == {seed, other}, query
    assert _pmids(sample_index_dir, "99999999") == set()
    assert seed not in _pmids(sample_index_dir, f"cancer {seed}")


def test_pmids_alone_through_a_real_process(sample_index_dir: Path) -> None:
    run = process(sample_index_dir, "search", "-f", "pmid", "--", "34572009 28412963")
    assert (run.returncode, sorted(run.stdout.split()), run.stderr) == (
        0,
        ["28412963", "34572009"],
        "",
    )


def test_a_doi_alone_finds_its_record(sample_index_dir: Path) -> None:
    """A DOI pasted alone (bare, as a doi.org link, after 'doi:'; several with spaces
    between) finds its records, as PubMed's search box does: the DOI's slash and
    brackets are part of it, not query syntax."""
    seed, doi = "34572009", "10.3390/cells10092361"
    for query in (doi, doi.upper(), f"https://doi.org/{doi}", f"doi.org/{doi}", f"doi: {doi}"):
        assert _pmids(sample_index_dir, query) == {seed}, query
    other = runner.invoke(app, ["show", "28412963", "--index", str(sample_index_dir), "-f", "json"])
    assert other.exit_code == 0, other.stderr
    other_doi = json.loads(other.stdout)["doi"]
    assert _pmids(sample_index_dir, f"{doi}  https://dx.doi.org/{other_doi}") == {
        seed,
        "28412963",
    }
    assert _pmids(sample_index_dir, "10.1016/S0140-6736(20)30183-5") == set()
    assert _pmids(sample_index_dir, f"{doi}[doi]") == {seed}  # a tagged query, as before


def test_a_search_of_pmids_or_a_doi_alone_means_the_same_when_referred_to(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """#N stands for search N as it was run: PMIDs alone stay PMIDs, a DOI its record."""
    path = tmp_path / "strategy.txt"
    path.write_text("34572009 28412963\n10.3390/cells10092361\n#1 AND cancer\n#2 OR #3\n", "utf-8")
    result = runner.invoke(app, ["strategy", str(path), "--index", str(sample_index_dir)])
    assert result.exit_code == 0, result.stderr
    assert set(result.stdout.split()) == {"34572009", "28412963"}
    assert "#3    2  #1 AND cancer" in result.stderr
