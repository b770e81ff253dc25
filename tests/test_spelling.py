"""British and American spellings meet in one term, and "Did you mean" only suggests a
close, known correction (issue 17), through the CLI on the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.searching.search import SUGGEST_BELOW, search

from .cli_helpers import count, process, run

runner = CliRunner()


def terms(text: str) -> list[str]:
    result = runner.invoke(app, ["analyze", text, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    return [t["term"] for t in found]


@pytest.mark.parametrize(
    ("british", "us"),
    [("tumour", "tumor"), ("paediatric", "pediatric"), ("anaemia", "anemia")],
)
def test_british_and_american_spellings_find_the_same_records(
    sample_index_dir: Path, british: str, us: str
) -> None:
    both = count(sample_index_dir, f"{british} OR {us}")
    assert count(sample_index_dir, british) == count(sample_index_dir, us) == both > 0


def test_a_phrase_in_british_spelling_finds_the_american_one(sample_index_dir: Path) -> None:
    assert count(sample_index_dir, '"tumour microenvironment"') == count(
        sample_index_dir, '"tumor microenvironment"'
    )
    assert count(sample_index_dir, '"tumor microenvironment"') > 0


@pytest.mark.parametrize(
    ("british", "us"),
    [
        ("tumour tumours", "tumor tumors"),
        ("oedema oesophageal coeliac", "edema esophageal celiac"),
        ("dyspnoea diarrhoea", "dyspnea diarrhea"),
        ("haemoglobin haemorrhagic", "hemoglobin hemorrhagic"),
        ("ischaemic leukaemias", "ischemic leukemias"),
        ("randomised randomisation", "randomized randomization"),
        ("catheterised metastasised", "catheterized metastasized"),
        ("orthopaedic paediatrician foetal", "orthopedic pediatrician fetal"),
        ("oestrogen faecal", "estrogen fecal"),
        ("behaviour centre fibre analysed", "behavior center fiber analyzed"),
    ],
)
def test_analyze_folds_british_spellings(british: str, us: str) -> None:
    assert terms(british) == terms(us)


@pytest.mark.parametrize(
    "word",
    [
        "promise", "exercise", "advertise", "supervised", "precise", "surprising", "noise",
        "gases", "buses", "gauge", "tonne", "hour", "four", "contour", "toe", "shoe", "aerobic",
        "poetry", "genre", "massacre", "improvisation", "expertise", "otherwise", "revised",
    ],
)  # fmt: skip
def test_words_that_only_look_british_are_left_alone(word: str) -> None:
    from searchkit.analysis.spelling import american

    assert american(word) == word
    assert terms(word) == terms(word.upper())  # and the analyzer agrees


def test_did_you_mean_leaves_unknown_short_words_and_acronyms_alone(
    sample_index_dir: Path,
) -> None:
    for query in ["sars", "covid", "ebola", "SARS", "COVID"]:
        result = run(sample_index_dir, "search", query)
        assert "Did you mean" not in result.stderr, (query, result.stderr)


def test_did_you_mean_still_fixes_real_typos(sample_index_dir: Path) -> None:
    for typo, fixed in [("emphysma", "emphysema"), ("imune escpe", "immune escape")]:
        result = run(sample_index_dir, "search", typo)
        assert f'Did you mean: "{fixed}"?' in result.stderr, result.stderr
    # A letter pair swapped is one slip, not two.
    result = run(sample_index_dir, "search", "cacner")
    assert 'Did you mean: "cancer"?' in result.stderr, result.stderr


def test_did_you_mean_never_corrects_a_word_of_the_index(sample_index_dir: Path) -> None:
    # "coli" is in the index: it is never "corrected", even though few records match.
    result = run(sample_index_dir, "search", "coli NOT coli")
    assert "Did you mean" not in result.stderr


# A misspelt word beside words that match: the query counts no record (none has every
# word), though many have the others. Did-you-mean used to go by the records with
# some of the words, and stayed silent.
TYPO_BESIDE_KNOWN_WORDS = [
    ("inflammatroy bowel disease", "inflammatory bowel disease"),
    ("crohn diseaes", "crohn disease"),
]


@pytest.mark.parametrize(("typo", "fixed"), TYPO_BESIDE_KNOWN_WORDS)
def test_did_you_mean_when_the_other_words_match(
    sample_index_dir: Path, typo: str, fixed: str
) -> None:
    assert count(sample_index_dir, typo) < SUGGEST_BELOW < count(sample_index_dir, fixed)
    for args in [("search", typo), ("search", typo, "--count")]:
        result = run(sample_index_dir, *args)
        assert result.exit_code == 0, result.stderr
        assert f'Did you mean: "{fixed}"?' in result.stderr, (args, result.stderr)


def test_did_you_mean_goes_by_the_records_counted(sample_index: SearchIndex) -> None:
    found = search(sample_index, "inflammatroy bowel disease", limit=0)
    assert found.total == 0 and found.partial_total >= SUGGEST_BELOW
    assert found.suggestion == "inflammatory bowel disease"
    # A query that counts enough records gets none, whatever its unknown words.
    plenty = search(sample_index, "inflammatroy OR disease", limit=0)
    assert plenty.total >= SUGGEST_BELOW
    assert plenty.suggestion is None


def test_did_you_mean_beside_known_words_as_a_real_process(sample_index_dir: Path) -> None:
    done = process(sample_index_dir, "search", "crohn diseaes", "--count")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert 'Did you mean: "crohn disease"?' in done.stderr, done.stderr


def test_a_word_whose_american_spelling_begins_otherwise_is_never_taken_to_keep_it() -> None:
    # Snippets skip the American spelling of a word that keeps its first two letters
    # (spelling.keeps_head): it must never claim so for a word the folding changes
    # there, whether by the table (aeroplane, gaols), a stem rule at the start or one
    # letter in (oedema, haemorrhage, coeliac, a made-up "laemia") or none at all.
    from searchkit.analysis.spelling import STEM_RULES, american, keeps_head, table
    from searchkit.readers import read_file

    words = set(table()) | set(table().values()) | {"oedema", "laemia", "tumour"}
    for british, _ in STEM_RULES:
        stem = british.lstrip("^")
        words |= {stem, stem + "s", "x" + stem, "xy" + stem}
    for path in sorted((Path(__file__).resolve().parent.parent / "data").iterdir()):
        for record in read_file(path):
            text = f"{record.title or ''} {record.abstract or ''}".lower()
            words.update(w for w in text.split() if w.isalpha())
    changed = {w for w in words if american(w)[:2] != w[:2]}
    assert {"aeroplane", "gaols", "oedema", "haemorrhage", "coeliac", "laemia"} <= changed
    assert not [w for w in changed if keeps_head(w)]
    kept = [w for w in words if keeps_head(w)]
    assert len(kept) > 0.9 * len(words)  # the point of it: most words skip the folding
    assert keeps_head("tumour") and keeps_head("cells") and not keeps_head("aeon")


def test_the_shipped_table_is_one_pair_a_line() -> None:
    # spelling.table() pairs the file's words two by two, not line by line.
    from searchkit.analysis.spelling import table
    from searchkit.packaged import packaged_text

    lines = [
        line.split()
        for line in packaged_text("uk_us_spellings.txt").splitlines()
        if line and not line.startswith("#")
    ]
    assert all(len(pair) == 2 for pair in lines)
    assert table() == dict(lines) and len(table()) > 1_700
    assert table()["tumour"] == "tumor" and table()["aeroplane"] == "airplane"
