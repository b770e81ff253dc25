"""A code written with a Latin letter standing for its Greek one is the same term as
the code written with the Greek letter or its name: ``NF-kB``, ``NFkB`` and ``NF-κB``
(and ``NF-kappaB``), ``IkBa`` and ``IκBα``, ``IL1B`` and ``IL-1β``, ``IFNG`` and
``IFN-γ``: keyboards have no κ, and gene symbols use the Latin letters, so a search
typed either way finds the records written the other. Only the whole code is read so:
the ``kb`` of "a 5-kb fragment" stays kilobases. On data/ through the CLI in-process and
as a real process; the fast indexing path agrees; older indexes are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit.analysis.analyzer import text_analyzer
from searchkit.analysis.termizer import BiomedTermizer

from .cli_helpers import count, explained, pmids, process, refused_until_rebuilt


def _terms(text: str, mode: str = "index") -> list[str]:
    return [t.text for t in text_analyzer()(text, mode=mode)]


@pytest.mark.parametrize(
    ("latin", "greek"),
    [("NF-kB", "NF-κB"), ("NFkB", "NF-kappaB"), ("NFKB1", "NF-κB1"), ("IkBa", "IκBα"),
     ("IL1B", "IL-1β"), ("IL-1b", "IL1beta"), ("TNFa", "TNF-α"), ("TGFB1", "TGF-β1"),
     ("IFNG", "IFN-γ"), ("PPARg", "PPAR-γ"), ("HIF1A", "HIF-1α")],
)  # fmt: skip
def test_the_latin_stand_in_is_the_greek_letters_term(latin: str, greek: str) -> None:
    for mode in ("index", "query"):
        assert _terms(latin, mode)[0] == _terms(greek, mode)[0]


def test_only_the_whole_code_is_read_as_greek() -> None:
    assert "kb" in _terms("a 5-kb fragment") and "kappab" not in _terms("a 5-kb fragment")
    assert _terms("IKK") == ["ikk"]


@pytest.mark.parametrize("text", ["NF-kB and NFkB bind IkBa", "IL1B IFNG-induced TGF-b1"])
def test_the_fast_indexing_path_emits_the_analyzers_terms(text: str) -> None:
    expected: dict[bytes, list[int]] = {}
    for t in text_analyzer()(text, positions=True, mode="index"):
        expected.setdefault(t.text.encode(), []).append(t.pos)
    assert BiomedTermizer()(text) == expected


@pytest.mark.parametrize("latin", ["NF-kB", "NFkB"])
def test_nf_kb_finds_the_records_that_write_nf_kappa_b(sample_index_dir: Path, latin: str) -> None:
    # data/ writes NF-κB in some 80 records and NF-kB or NFkB in six.
    assert pmids(sample_index_dir, '"NF-κB"') <= pmids(sample_index_dir, latin)
    assert count(sample_index_dir, latin) > 50


def test_a_latin_short_form_is_expanded_as_the_greek_one(sample_index_dir: Path) -> None:
    assert '"nuclear factor kappab"' in explained(sample_index_dir, "NF-kB")


def test_il1b_finds_il_1_beta_as_a_real_process(sample_index_dir: Path) -> None:
    found = process(sample_index_dir, "search", "IL1B", "--count")
    assert found.returncode == 0, found.stderr
    assert int(found.stdout) == count(sample_index_dir, "IL1β") > 50


def test_an_index_made_before_the_stand_ins_is_refused(tmp_path: Path) -> None:
    record = {"pmid": "1", "title": "NF-kB activation", "year": 2020}
    refused_until_rebuilt(tmp_path, record, "greek_standins", "NF-κB")
