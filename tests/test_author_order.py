"""A full author name in natural order, as NLM's full author name searching allows
("can be in either natural or inverted order": ``julia s wong`` or ``wong julia s``):
``judith e smith[au]`` finds "Smith, Judith E" as ``smith judith e[au]`` does. Names
with initials only (``smith j``, ``smith ja``) are PubMed's short form and keep their
order. On data/ (PMID 28670216: Townsend, Whitney A, first; Smith, Judith E, last),
through the CLI in-process and as a real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .cli_helpers import pmids, run, searchkit_exe

PMID = "28670216"


@pytest.mark.parametrize(
    ("natural", "inverted"),
    [
        ("judith e smith[au]", "smith judith e[au]"),
        ('"Judith E Smith"[fau]', '"Smith, Judith E"[fau]'),
        ("whitney a townsend[1au]", "townsend whitney a[1au]"),
        ("whitney townsend[au]", "townsend whitney[au]"),
        ("judith e smith[lastau]", "smith judith e[lastau]"),
    ],
)
def test_a_full_name_in_natural_order(sample_index_dir: Path, natural: str, inverted: str) -> None:
    found = pmids(sample_index_dir, inverted)
    assert PMID in found
    assert pmids(sample_index_dir, natural) == found


def test_the_order_still_tells_first_from_last_author(sample_index_dir: Path) -> None:
    assert PMID not in pmids(sample_index_dir, "whitney a townsend[lastau]")
    assert PMID not in pmids(sample_index_dir, "judith e smith[1au]")


def test_initials_keep_their_place(sample_index_dir: Path) -> None:
    """``smith j`` is surname then initials: "J Smith" is not looked for (nor is
    "ja smith"), so the results are those of the phrase as written."""
    explained = run(sample_index_dir, "search", "smith ja[au]", "--explain", "--count")
    assert explained.exit_code == 0, explained.stderr
    assert "ja smith" not in explained.stderr


def test_natural_order_as_a_real_process(sample_index_dir: Path) -> None:
    result = subprocess.run(
        [searchkit_exe(), "search", "judith e smith[au]", "--format", "pmid"],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert PMID in result.stdout.split()
