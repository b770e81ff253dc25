"""Author names are searched as PubMed searches them, without regard to accents:
``konig t[au]`` finds "König T", ``garcia m[au]`` both "García M" and "Garcia M",
``sorensen j[au]`` "Sørensen J" (letters with no decomposition, ø ł æ ß, fold as
Lucene's ASCII folding folds them); the same article read from PubMed XML
("Villagrán-Schmidt") and from its MEDLINE export ("Villagran-Schmidt") is found by
either spelling. A query pasted in decomposed form (macOS, PDFs: "c" and a combining
cedilla) searches the word, not two pieces. On data/ and real shared files, through
the CLI in-process and as a real process; an index made before is refused until
rebuilt."""

from __future__ import annotations

import os
import subprocess
import unicodedata
from pathlib import Path

import pytest

from searchkit.analysis.analyzer import fold
from searchkit.index.schema import NameTokenizer

from .cli_helpers import count, pmids, refused_until_rebuilt, searchkit_exe


@pytest.mark.parametrize(
    ("written", "folded"),
    [("Søren", "soren"), ("Łukasz", "lukasz"), ("Æbelø", "aebelo"), ("Straße", "strasse"),
     ("Đorđević", "dordevic"), ("Þór", "thor"), ("Œuvre", "oeuvre"), ("König", "konig")],
)  # fmt: skip
def test_letters_without_a_decomposition_fold_as_ascii_folding_does(
    written: str, folded: str
) -> None:
    assert fold(written) == folded


def test_author_words_are_folded_at_index_and_query_time() -> None:
    tokens = [t.text for t in NameTokenizer()("Hübenthal M; Keita ÅV", mode="index")]
    assert tokens == ["hubenthal", "m", "keita", "av", "a"]
    decomposed = unicodedata.normalize("NFD", "Hübenthal M")
    assert [t.text for t in NameTokenizer()(decomposed)] == ["hubenthal", "m"]
    assert NameTokenizer().index_positions("Hübenthal M; Keita ÅV") == {
        "hubenthal": [0], "m": [1], "keita": [102], "av": [103], "a": [103],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("ascii_form", "accented"),
    [("hubenthal m[au]", "Hübenthal M[au]"), ("konig t[au]", "König T[au]")],
)
def test_an_author_is_found_with_or_without_accents(
    sample_index_dir: Path, ascii_form: str, accented: str
) -> None:
    found = pmids(sample_index_dir, accented)
    assert found
    assert pmids(sample_index_dir, ascii_form) == found


def test_either_spelling_finds_both_garcias(sample_index_dir: Path) -> None:
    """data/ writes some "García M" and PMID 25899824 "Garcia M"."""
    plain, accented = (
        pmids(sample_index_dir, "garcia m[au]"),
        pmids(sample_index_dir, "García M[au]"),
    )
    assert plain == accented
    assert "25899824" in plain and len(plain) > 2


def test_a_decomposed_query_searches_the_word(sample_index_dir: Path) -> None:
    composed = count(sample_index_dir, "Behçet")
    assert composed > 0
    assert count(sample_index_dir, unicodedata.normalize("NFD", "Behçet")) == composed
    assert count(sample_index_dir, unicodedata.normalize("NFD", "König T[au]")) > 0


def test_the_same_article_from_xml_and_medline_by_either_spelling(
    tmp_path: Path, shared_data: Path
) -> None:
    shared = shared_data
    name = "p1m-ortho_qs-global-ortho-search-queries"
    xml = shared / "pubmed_xml" / f"{name}__pubmed_result.xml"
    nbib = shared / "medline" / f"{name}__citations.nbib"
    if not (xml.exists() and nbib.exists()):
        pytest.skip(f"the shared data is absent ({xml.parent.parent})")
    env = {**os.environ, "SEARCHKIT_INDEX": ""}
    for source in (xml, nbib):
        index = tmp_path / source.suffix.lstrip(".")
        ingest = subprocess.run(
            [searchkit_exe(), "ingest", str(source), "--index", str(index), "--quiet"],
            capture_output=True, text=True, env=env, check=False, timeout=300,
        )  # fmt: skip
        assert ingest.returncode == 0, ingest.stderr
        for query in ("villagran-schmidt m[au]", "Villagrán-Schmidt M[au]"):
            found = subprocess.run(
                [searchkit_exe(), "search", query, "--index", str(index), "--format", "pmid"],
                capture_output=True, text=True, env=env, check=False, timeout=120,
            )  # fmt: skip
            assert found.returncode == 0, found.stderr
            assert "29742719" in found.stdout.split(), (source.name, query)


def test_an_index_made_before_names_were_folded_is_refused(tmp_path: Path) -> None:
    record = {"pmid": "1", "title": "Colitis", "authors": [{"name": "König T"}], "year": 2020}
    refused_until_rebuilt(tmp_path, record, "names", "konig t[au]")
