"""The field names of NCBI's E-utilities (``einfo -db pubmed``: ``[TITL]``, ``[AUTH]``,
``[PTYP]``...), which PubMed accepts as tags too: scripts that build ``esearch`` terms
and legacy strategies (``Review[ptyp]``, from PubMed's former Limits page) use them.
Each must find what its PubMed tag finds on the bundled records, and the names of
fields searchkit does not store must be refused with the reason, as the PubMed tags
are."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.query.tags import UNSUPPORTED_TAGS

from .cli_helpers import process
from .conftest import SAMPLE_DIR
from .test_pubmed_syntax import _pmids

runner = CliRunner()

#: E-utilities name, the PubMed tag it stands for, and a value found in data/.
ALIASES = [
    ("titl", "ti", "cancer"),
    ("word", "tw", "immune"),
    ("auth", "au", "smith j"),
    ("full", "fau", "smith j"),
    ("faut", "1au", "wang"),
    ("laut", "lastau", "wang"),
    ("coln", "cn", "group"),
    ("affl", "ad", "harvard"),
    ("subh", "sh", "surgery"),
    ("otrm", "ot", "immunotherapy"),
    ("ptyp", "pt", "review"),
    ("vol", "vi", "10"),
    ("iss", "ip", "3"),
    ("page", "pg", "1"),
    ("filt", "filter", "english"),
]


@pytest.mark.parametrize(("name", "tag", "value"), ALIASES)
def test_an_eutilities_field_name_finds_what_its_pubmed_tag_finds(
    sample_index_dir: Path, name: str, tag: str, value: str
) -> None:
    expected = _pmids(sample_index_dir, f"{value}[{tag}]")
    assert expected, f"{value}[{tag}] finds nothing in data/: choose another value"
    assert _pmids(sample_index_dir, f"{value}[{name.upper()}]") == expected
    assert _pmids(sample_index_dir, f"{value} [{name}]") == expected


def test_a_legacy_limits_strategy_through_a_real_process(sample_index_dir: Path) -> None:
    """What PubMed's former Limits page wrote, run by the installed command."""
    query = "cancer AND (Review[ptyp] OR Letter[ptyp]) AND English[lang]"
    expected = _pmids(sample_index_dir, "cancer AND (review[pt] OR letter[pt]) AND english[la]")
    assert expected
    run = process(sample_index_dir, "search", "--count", "--", query)
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{len(expected)}\n", "")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("grnt", "grant numbers are not stored"),
        ("invr", "investigators are not stored"),
        ("finv", "investigators are not stored"),
        ("cdat", "the completion date is not stored"),
        ("mdat", "the modification date is not stored"),
        ("subs", "supplementary concepts are not stored"),
        ("ecno", "EC/RN numbers (substances) are not stored"),
        ("papx", "pharmacological actions need NLM's MeSH data, which is not loaded"),
        ("cnty", "the journal's country is not stored"),
        ("aucl", "PubMed's computed author clusters are not stored"),
    ],
)
def test_an_eutilities_name_of_a_field_not_stored_is_refused_with_the_reason(
    sample_index_dir: Path, name: str, reason: str
) -> None:
    result = runner.invoke(
        app, ["search", f"cancer[{name.upper()}]", "--index", str(sample_index_dir), "--count"]
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: the PubMed tag [{name.upper()}] cannot be searched here: {reason} "
        "(at position 7)\n"
    )
    assert UNSUPPORTED_TAGS[name] == reason


def test_the_filter_names_edirect_documents(sample_index_dir: Path) -> None:
    """``has abstract [FILT]`` is the Abstract filter (``fha[Filter]``); an age
    filter written with its space (``all child [FILT]``) is refused with the reason
    ``allchild[Filter]`` gets, not called unknown."""
    with_abstract = _pmids(sample_index_dir, "cancer AND fha[Filter]")
    assert with_abstract
    assert _pmids(sample_index_dir, "cancer AND has abstract [FILT]") == with_abstract
    for written in ("all child [FILT]", "allchild[Filter]"):
        result = runner.invoke(
            app, ["search", f"cancer AND {written}", "--index", str(sample_index_dir)]
        )
        assert result.exit_code == 2, written
        assert "PubMed's age filters are NLM search strategies" in result.stderr, written


def test_the_readme_names_the_eutilities_field_names() -> None:
    readme = (SAMPLE_DIR.parent / "README.md").read_text("utf-8")
    missing = [name for name, _, _ in ALIASES if f"[{name.upper()}]" not in readme]
    assert not missing, f"README does not name the E-utilities fields {missing}"
