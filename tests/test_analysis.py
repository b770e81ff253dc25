"""The biomedical analyzer: the written forms of biomedical names meet in one term."""

from __future__ import annotations

import json
import pickle
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from searchkit.analysis.analyzer import (
    BiomedTokenizer,
    fold,
    fold_greek,
    fold_letters,
    text_analyzer,
)
from searchkit.cli import app
from searchkit.index.schema import build_schema

from .test_cli import _searchkit_exe

runner = CliRunner()


def terms(text: str) -> set[str]:
    return {t.text for t in text_analyzer()(text)}


def shared(a: str, b: str) -> set[str]:
    return terms(a) & terms(b)


@pytest.mark.parametrize(
    ("a", "b", "term"),
    [
        ("PD-L1", "PDL1", "pdl1"),
        ("PD-L1", "PD L1", "pdl1"),
        ("PDL1", "PD L1", "pdl1"),
        ("IL-6", "IL6", "il6"),
        ("IL 6", "IL6", "il6"),
        ("CD8+", "CD8", "cd8"),
        ("MHC-I", "MHC class I", "mhci"),
        ("HLA-A*02:01", "HLA-A*0201", "hlaa0201"),
        ("TNF-α", "TNF-alpha", "tnfalpha"),
        ("TNFα", "TNF-alpha", "tnfalpha"),
        ("β-catenin", "beta-catenin", "betacatenin"),
        ("SARS-CoV-2", "SARS-CoV2", "sarscov2"),
        ("COVID-19", "COVID19", "covid19"),
        ("COVID 19", "COVID-19", "covid19"),
    ],
)
def test_written_forms_share_a_term(a: str, b: str, term: str) -> None:
    assert term in shared(a, b)


def test_the_parts_of_a_compound_are_searchable_too() -> None:
    assert {"pd", "l1", "pdl1"} <= terms("PD-L1")
    assert {"beta", "catenin"} <= terms("β-catenin")
    assert "catenin" in shared("β-catenin", "catenin")


def test_numbers_are_kept() -> None:
    assert {"1.5", "1000", "19", "2"} <= terms("1.5 mg in 1,000 patients, COVID-19 and SARS-CoV-2")


def test_accents_and_greek_letters_are_folded() -> None:
    assert fold("Naïve café β-Catenin TNF-α µg") == "naive cafe beta-catenin tnf-alpha mug"
    assert terms("naïve") == terms("naive")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x3FF), max_size=20))
def test_folding_ascii_words_takes_a_shortcut_to_the_same_text(text: str) -> None:
    folded = unicodedata.normalize("NFKD", fold_letters(fold_greek(text)))
    expected = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    assert fold(text) == expected


def test_stemming_and_stop_words() -> None:
    assert terms("the cells were escaping") == terms("cell escape")
    assert "the" not in terms("the") and not terms("of the and")
    assert "a" in terms("HLA-A")  # a stop word, but a part of a name here


def test_ordinary_words_are_not_joined_as_codes() -> None:
    assert terms("Cancer 5 years") == {"cancer", "5", "year"}


@pytest.mark.parametrize(
    ("text", "not_joined"),
    [
        ("81 patients with CD, 108 patients with UC", "cd108"),  # a list, not CD108
        ("the lower DL(CO)/V(A) ratio", "cov"),  # two groups, not CoV
        ("the (IL), 4 groups", "il4"),
        ("the AIM: A study of IBD. A total", "aima"),
        ("Crohn's disease (CD) (P < 0.05) and CD (P = 0.01)", "cdp"),
        ("in UC: 36 patients", "uc36"),
    ],
)
def test_codes_are_not_joined_across_punctuation(text: str, not_joined: str) -> None:
    """A code written with a space ("PD L1", "IL 6") is one term; a word that merely
    follows a code across punctuation and a space (a list, a sentence, a parenthesis,
    another group) is not part of it."""
    assert not_joined not in terms(text)
    assert {"pdl1", "il6", "covid19", "regiv", "mhci"} <= terms(
        f"{text}: PD L1, IL 6, COVID 19, REG IV and MHC class I"
    )


@pytest.mark.parametrize(
    ("text", "term"),
    [("C57BL/6 mice", "c57bl6"), ("F4/80", "f4/80"), ("PU.1", "pu1"), ("P2X(7)", "p2x7"),
     ("VSL#3", "vsl3"), ("interleukin (IL)-9", "il9"), ("interleukin (IL) 36", "il36"),
     ("granzyme (GZM) B", "gzmb")],
)  # fmt: skip
def test_codes_written_without_a_space_are_still_joined(text: str, term: str) -> None:
    assert term in terms(text)


@pytest.mark.parametrize(
    ("text", "other", "joined"),
    [("CDK1/2", "CDK12", "cdk1/2"), ("CXCL1/2", "CXCL12", "cxcl1/2"),
     ("CD4/8", "CD48", "cd4/8"), ("BRCA1/2", "BRCA12", "brca1/2")],
)  # fmt: skip
def test_numbered_alternatives_do_not_make_another_name(text: str, other: str, joined: str) -> None:
    """ "CDK1/2" is CDK1 and CDK2, not CDK12: joined as written, slash kept, it shares
    no term with the other name its digits would run into (both are real: data/ holds
    CDK1/2 and CDK12, SciFact CXCL1/2 and CXCL12)."""
    assert joined in terms(text)
    assert not shared(text, other) - {"2", "8"}
    assert terms(other) == {other.lower()}


@pytest.mark.parametrize(
    ("text", "parts"),
    [("18-65 years", ["18", "65"]), ("1:1", ["1", "1"]), ("10:30", ["10", "30"]),
     ("1.5-2.0", ["1.5", "2.0"]), ("1,000-2,000", ["1000", "2000"])],
)  # fmt: skip
def test_numbers_alone_are_not_run_together(text: str, parts: list[str]) -> None:
    """A compound of numbers alone gets its parts only (run together they would be
    another number: 1865, 11, 1030); a compound with a word keeps its joined term."""
    tokens = [(t.text, t.pos) for t in text_analyzer()(text.split()[0], positions=True)]
    assert tokens == [(part, pos) for pos, part in enumerate(parts)]
    assert "hlaa0201" in terms("HLA-A*02:01") and "covid19" in terms("COVID-19")


@pytest.mark.parametrize(
    ("plural", "singular", "term"),
    [("CSCs", "CSC", "csc"), ("RCTs", "RCT", "rct"), ("SNPs", "SNP", "snp"),
     ("HSCs", "HSC", "hsc"), ("HLAs", "HLA", "hla"), ("CNVs", "CNV", "cnv"),
     ("iPSCs", "iPSC", "ipsc"), ("lncRNAs", "lncRNA", "lncrna"), ("TAMs", "TAM", "tam"),
     ("CD4s", "CD4", "cd4"), ("anti-CSCs", "anti-CSC", "anticsc"), ("GWASs", "GWAS", "gwas")],
)  # fmt: skip
def test_an_acronym_and_its_plural_share_a_term(plural: str, singular: str, term: str) -> None:
    """An acronym's plural is written with a lower-case s: the stemmer takes it off only
    when a vowel comes before the letter before it (``TAMs``), so ``CSCs``, ``RCTs``,
    ``SNPs``, ``lncRNAs`` were terms of their own, and a search for the acronym never
    found the records that write it so."""
    assert term in shared(plural, singular)
    assert terms(plural) == terms(singular)


@pytest.mark.parametrize(
    ("text", "term"),
    [("GaAs", "gaa"), ("1990s", "1990s"), ("PhDs", "phds"), ("AIDS", "aid"), ("ROS", "ros"),
     ("Ts", "ts")],
)  # fmt: skip
def test_words_that_are_no_acronym_plural_keep_their_s(text: str, term: str) -> None:
    """Only two or more capitals or digits, the first a capital, then a lower-case s
    make an acronym's plural: not an element's symbol (``GaAs``, which the stemmer
    reads as a word), a decade, a word in capitals, one capital."""
    assert terms(text) == {term}


def test_character_offsets_point_at_the_written_text() -> None:
    text = "loss of PD-L1 in TNF-α"
    toks = [(t.text, t.startchar, t.endchar) for t in text_analyzer()(text, chars=True)]
    spans = {term: text[s:e] for term, s, e in toks}
    assert spans["pdl1"] == "PD-L1"
    assert spans["tnfalpha"] == "TNF-α"
    assert spans["alpha"] == "α"


def test_analyzer_pickles_with_the_schema() -> None:
    schema = build_schema()
    again = pickle.loads(pickle.dumps(schema))
    assert again["abstract"].analyzer == schema["abstract"].analyzer
    assert list(again["abstract"].process_text("PD-L1")) == ["pdl1", "pd", "l1"]
    assert BiomedTokenizer() == pickle.loads(pickle.dumps(BiomedTokenizer()))


def test_analyze_command_text_and_json() -> None:
    result = runner.invoke(app, ["analyze", "PD-L1 in TNF-α"])
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["0", "pdl1", "cat", "PD-L1"]
    assert ["3", "tnfalpha", "cat", "TNF-α"] in rows
    assert result.stderr == ""
    result = runner.invoke(app, ["analyze", "IL-6", "--format", "json"])
    assert result.exit_code == 0
    assert [t["term"] for t in json.loads(result.stdout)] == ["il6", "il", "6"]


def test_analyze_command_with_only_stop_words() -> None:
    result = runner.invoke(app, ["analyze", "of the"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No index terms" in result.stderr


@pytest.mark.slow
def test_analyze_and_acronyms_as_real_subprocesses(sample_index_dir: Path) -> None:
    exe = _searchkit_exe()
    proc = subprocess.run(
        [exe, "analyze", "β-catenin"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:3] == ["0", "betacatenin", "cat"]
    proc = subprocess.run(
        [exe, "acronyms", "MHC", "--index", str(sample_index_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("MHC ") and "major histocompatibility complex" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.slow
def test_a_list_after_a_code_finds_nothing_as_a_process(sample_index_dir: Path) -> None:
    """On the bundled records, as ``searchkit search``: "81 patients with CD, 108
    patients with UC" is no CD108 record, "DL(CO)/V(A)" holds no CoV of SARS-CoV-2;
    "interleukin (IL) 36" is still IL36."""
    exe, index = _searchkit_exe(), str(sample_index_dir)

    def pmids(query: str, fmt: str = "pmid") -> list[str]:
        proc = subprocess.run(
            [exe, "search", query, "-f", fmt, "-n", "all", "--index", index],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        if fmt == "json":
            return [hit["pmid"] for hit in json.loads(proc.stdout)["hits"]]
        return proc.stdout.split()

    assert "30653987" not in pmids("cd108")
    assert "22515655" not in pmids("SARS-CoV-2 vaccine", "json")  # not even partly
    assert {"29434599", "30452921", "28798075"} <= set(pmids("il36"))
