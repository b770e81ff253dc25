"""Quoted phrases and hyphenated terms on the bundled sample (issue 17): a phrase
copied from a record finds that record, whatever hyphens, codes or stop words it holds;
the bare number or letter of a compound (the ``6`` of ``IL-6``) is never searched alone."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.errors import QueryError
from searchkit.searching.search import search

from .cli_helpers import count, process, run
from .reference_sets import PHRASE_FIELDS, with_phrase
from .test_cli import _searchkit_exe

runner = CliRunner()


def pmids(index: Path, query: str, *options: str) -> list[str]:
    result = run(index, "search", query, "-f", "pmid", "-n", "5000", *options)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


# (phrase, a record whose title or abstract holds it as written)
COPIED = [
    ("MHC class II", "29191604"),  # title: "MHC class II expression in lung cancer."
    ("immune privilege of cancer stem cells", "34572009"),
    ("Tumor Immune Escape", "34572009"),
    # "SO(2)": a code head that is also a stop word ("so") joined with its tail.
    ("of SO(2) in the homogeneously", "12716192"),
]
# Phrases that the same index holds somewhere (found with grep on the records).
WRITTEN = [
    "PD-L1",
    "IL-6",
    "TNF-alpha",
    "beta-catenin",
    "non-small cell lung cancer",
    "NF-κB",
    "T-cell",
    "HIV-1",
    "Toll-like receptor",
    "meta-analysis",
    "spine in children",
]


@pytest.mark.parametrize(("phrase", "pmid"), COPIED)
def test_a_copied_phrase_finds_its_record(sample_index_dir: Path, phrase: str, pmid: str) -> None:
    assert pmid in pmids(sample_index_dir, f'"{phrase}"')


def test_a_whole_title_in_quotes_finds_its_record(sample_index_dir: Path) -> None:
    title = "MHC class II expression in lung cancer."
    assert pmids(sample_index_dir, f'"{title}"') == ["29191604"]


@pytest.mark.parametrize("phrase", WRITTEN)
def test_phrases_with_hyphens_codes_and_stop_words_match(
    sample_index_dir: Path, phrase: str
) -> None:
    found = count(sample_index_dir, f'"{phrase}"')
    assert found > 0
    # A phrase is narrower than its words searched anywhere in the record.
    assert found <= count(sample_index_dir, phrase)


def test_phrase_keeps_word_order_and_stop_word_gaps(sample_index_dir: Path) -> None:
    assert "34572009" not in pmids(sample_index_dir, '"stem cells of immune privilege cancer"')
    # "privilege of cancer" has one word between the two: not "privilege cancer".
    assert "34572009" not in pmids(sample_index_dir, '"immune privilege cancer stem cells"')


def test_phrase_explain_shows_no_joined_term_between_its_parts(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", '"MHC class II"', "--explain", "--count")
    assert result.exit_code == 0
    assert "mhc class mhcii ii" not in result.stderr


@pytest.mark.slow
def test_compound_forms_meet_in_a_phrase(sample_index_dir: Path) -> None:
    # The sample writes "IL6 expression", "IL 6", "TNF alpha pathways": a phrase typed
    # with the hyphen finds them too.
    for typed, written in [
        ('"IL-6 expression"', '"IL6 expression"'),
        ('"IL-6"', '"IL 6"'),
        ('"TNF-alpha pathways"', '"TNF alpha pathways"'),
    ]:
        other = set(pmids(sample_index_dir, written))
        assert other, written
        assert other <= set(pmids(sample_index_dir, typed)), typed


def _runs(index: SearchIndex, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` random runs of 3-6 whitespace-separated words copied from stored titles
    and abstracts, with their record's PMID."""
    texts: list[tuple[str, str]] = []
    with index.whoosh_index.searcher() as s:
        for fields in s.all_stored_fields():
            for name in ("title", "abstract"):
                if fields.get(name):
                    texts.append((fields["pmid"], fields[name]))
    texts.sort()
    rng = random.Random(seed)
    runs: list[tuple[str, str]] = []
    while len(runs) < n:
        pmid, text = rng.choice(texts)
        words = text.split()
        k = rng.randint(3, 6)
        if len(words) < k:
            continue
        start = rng.randrange(len(words) - k + 1)
        run_text = " ".join(words[start : start + k])
        if '"' in run_text:  # a quote inside would end the phrase
            continue
        runs.append((pmid, run_text))
    return runs


@pytest.mark.slow
def test_every_copied_run_of_words_finds_its_record(sample_index: SearchIndex) -> None:
    missed: list[str] = []
    searched = 0
    for pmid, words in _runs(sample_index, 300, seed=17):
        try:
            found = search(sample_index, f'"{words}" AND {pmid}[pmid]', limit=0, suggest=False)
        except QueryError as e:
            assert "no searchable words" in str(e), (words, e)
            continue
        searched += 1
        if found.total != 1:
            missed.append(f"{pmid}: {words}")
    assert searched >= 250
    assert not missed, missed


@pytest.mark.slow
def test_bare_numbers_and_letters_of_compounds_are_not_searched(sample_index_dir: Path) -> None:
    for query, bare in [
        ("SARS-CoV-2", "2"),
        ("IL-6", "6"),
        ("COVID-19", "19"),
        ("T-cell", "t"),
        ("PD-L1", "l1"),
    ]:
        result = run(sample_index_dir, "search", query, "--explain", "--count")
        assert result.exit_code == 0
        whoosh = result.stderr.split("whoosh:", 1)[1]
        assert not re.search(rf"(?<![\w\"])\w+:{bare}(?![\w\"])", whoosh), whoosh


def test_a_compound_does_not_match_its_bare_part(sample_index_dir: Path) -> None:
    # KIR2D records list "L1, L3" and never mention PD-L1: they must not rank near the top.
    fields = "pmid,title,abstract"
    top = run(
        sample_index_dir, "search", "PD-L1 expression NSCLC", "-f", "jsonl", "-n", "5",
        "--fields", fields,
    )  # fmt: skip
    assert top.exit_code == 0
    for line in top.stdout.splitlines():
        hit = json.loads(line)
        assert "PD-L1" in hit["title"] + (hit["abstract"] or ""), hit["pmid"]


@pytest.mark.slow
def test_tagged_compound_and_its_joined_form_agree(sample_index_dir: Path) -> None:
    assert count(sample_index_dir, "IL-6[ti]") == count(sample_index_dir, "IL6[ti]") > 0
    assert count(sample_index_dir, "IL 6[ti]") == count(sample_index_dir, "IL6[ti]")
    assert count(sample_index_dir, "PD-L1[tiab]") == count(sample_index_dir, "PDL1[tiab]") > 0


@pytest.mark.slow
def test_phrase_as_a_real_process(sample_index_dir: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    done = subprocess.run(
        [_searchkit_exe(), "search", '"MHC class II"', "--count"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1


def test_whoosh_matcher_of_a_phrase_agrees_with_the_scoring(sample_index: SearchIndex) -> None:
    from searchkit.engine.phrases import PositionalPhrase, analyze

    schema = sample_index.whoosh_index.schema
    q = PositionalPhrase("title", analyze(schema["title"].analyzer, "MHC class II expression"))
    with sample_index.whoosh_index.searcher() as s:
        found = {s.stored_fields(d)["pmid"] for d in s.docs_for_query(q)}
    assert "29191604" in found
    assert found == set(pmids_api(sample_index, '"MHC class II expression"[ti]'))


def pmids_api(index: SearchIndex, query: str) -> list[str]:
    return [h.pmid for h in search(index, query, limit=1000, suggest=False).hits]


# A quoted phrase with a stop word, under every tag whose field holds text: the stop
# word keeps its place as it does in [tiab] ("university of michigan"[ad] found
# nothing, its stop word dropped with no gap left; "activity of the disease"[all]
# found "disease activity").
STOP_WORD_PHRASES = [
    ('"university of michigan"[ad]', "university of michigan", "ad"),
    ('"department of medicine"[Affiliation]', "department of medicine", "ad"),
    ('affiliation:"department of medicine"', "department of medicine", "ad"),
    ('"quality of life"[All Fields]', "quality of life", "all"),
    ('"quality of life"[all]', "quality of life", "all"),
    ('"activity of the disease"[all]', "activity of the disease", "all"),
    ('"university of michigan"[all]', "university of michigan", "all"),
    ('"carcinoma of unknown primary"[kw]', "carcinoma of unknown primary", "kw"),
    ('"carcinoma of unknown primary"[ot]', "carcinoma of unknown primary", "kw"),
    ('"quality of life"[tw]', "quality of life", "tw"),
    ('"activity of the disease"[tiab]', "activity of the disease", "tiab"),
]


@pytest.mark.parametrize(("query", "phrase", "tag"), STOP_WORD_PHRASES)
def test_a_tagged_phrase_keeps_the_place_of_its_stop_words(
    sample_index_dir: Path, query: str, phrase: str, tag: str
) -> None:
    expected = with_phrase(sample_index_dir, phrase, PHRASE_FIELDS[tag])
    assert expected, phrase
    assert set(pmids(sample_index_dir, query)) == expected
    assert count(sample_index_dir, query) == len(expected)


def test_an_all_fields_phrase_finds_what_the_same_phrase_tagged_tiab_finds(
    sample_index_dir: Path,
) -> None:
    # As PubMed writes it in its Search Details.
    for phrase in ['"quality of life"', '"activity of the disease"']:
        tiab = set(pmids(sample_index_dir, f"{phrase}[tiab]"))
        assert tiab
        assert tiab <= set(pmids(sample_index_dir, f"{phrase}[All Fields]"))


@pytest.mark.parametrize(
    "phrase",
    [
        '"quality of life"',
        '"university of michigan"',
        '"rare tumors in pediatric age group"',  # a collective author's name
        '"international journal of cancer"',  # a journal's whole name
    ],
)
def test_an_all_fields_phrase_searches_the_fields_all_fields_words_do(
    sample_index_dir: Path, phrase: str
) -> None:
    """Unquoted, [all] searches the text fields, author and collective names,
    affiliations and whole journal names: quoted, the same fields."""
    each = " OR ".join(f"{phrase}[{tag}]" for tag in ("tw", "au", "cn", "ad", "ta"))
    found = set(pmids(sample_index_dir, f"{phrase}[all]"))
    assert found
    assert found == set(pmids(sample_index_dir, each))


def test_explain_shows_the_stop_word_gap_in_every_field_of_all_fields(
    sample_index_dir: Path,
) -> None:
    result = run(
        sample_index_dir, "search", '"quality of life"[All Fields]', "--explain", "--count"
    )
    assert result.exit_code == 0, result.stderr
    whoosh = result.stderr.split("whoosh:", 1)[1]
    for field in ("title", "abstract", "keywords", "mesh", "affiliation"):
        assert f'{field}:"qualiti * life"' in whoosh, whoosh
    assert 'authors:"quality of life"' in whoosh
    assert 'collective:"quality of life"' in whoosh
    assert "journal:quality of life" in whoosh


def test_an_affiliation_phrase_with_a_stop_word_as_a_real_process(sample_index_dir: Path) -> None:
    expected = with_phrase(sample_index_dir, "university of michigan", ("affiliation",))
    assert "21148225" in expected
    done = process(sample_index_dir, "search", '"university of michigan"[ad]', "-f", "pmid")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected
    done = process(sample_index_dir, "search", '"quality of life"[All Fields]', "--count")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(
        with_phrase(sample_index_dir, "quality of life", PHRASE_FIELDS["all"])
    )
