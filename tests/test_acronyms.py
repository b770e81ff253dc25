"""Acronyms: mining definitions at ingest, keeping the table right, expanding queries."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import Record, SearchIndex, search
from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable, _sentences, mine
from searchkit.cli import app

from .test_cli import _searchkit_exe

runner = CliRunner()

DEFINES_MHC = Record(
    pmid="1",
    title="Antigen presentation in tumours",
    abstract="Loss of major histocompatibility complex (MHC) class I molecules lets tumours "
    "hide from T cells.",
)
SPELLS_OUT = Record(
    pmid="2",
    title="Cancer stem cells evade immunity",
    abstract="These cells express little major histocompatibility complex class I.",
)
SHORT_ONLY = Record(
    pmid="3",
    title="Natural killer cells",
    abstract="NK cells kill targets that lack MHC class I.",
)
FILLER = [
    Record(pmid=f"f{i}", title=f"Unrelated study {i}", abstract=f"Measurements of kind {i}.")
    for i in range(6)
]


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        (
            "Loss of major histocompatibility complex (MHC) class I",
            [("MHC", "major histocompatibility complex")],
        ),
        ("Programmed death-ligand 1 (PD-L1) is high.", [("PD-L1", "programmed death-ligand 1")]),
        ("tumor necrosis factor-α (TNF-α) rises", [("TNF-α", "tumor necrosis factor-alpha")]),
        ("in patients with (n = 5) and (p < 0.05) in (2019)", []),
        ("the blood-brain barrier (BBB) and induced pluripotent stem cells (iPSCs)",
         [("BBB", "blood-brain barrier"), ("iPSCs", "induced pluripotent stem cells")]),
        ("a random word (XYZ) here", []),
    ],
)  # fmt: skip
def test_mining_schwartz_hearst(text: str, pairs: list[tuple[str, str]]) -> None:
    assert mine(text) == pairs


@pytest.mark.slow
def test_table_follows_add_replace_and_delete(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([DEFINES_MHC, SPELLS_OUT, *FILLER])
    assert AcronymTable.load(ix.path).rows("MHC") == [
        ("MHC", 1, "major histocompatibility complex")
    ]
    second = Record(pmid="9", title="MHC", abstract=DEFINES_MHC.abstract)
    ix.upsert([second])
    assert AcronymTable.load(ix.path).rows("mhc")[0][1] == 2
    # Replacing a record with a version that no longer defines MHC takes its count away.
    ix.upsert([Record(pmid="9", title="MHC", abstract="No definition here.")])
    assert AcronymTable.load(ix.path).rows("MHC")[0][1] == 1
    ix.delete(["1"])
    assert AcronymTable.load(ix.path).rows("MHC") == []
    data = json.loads((ix.path / TABLE_FILE).read_text("utf-8"))
    assert data["version"] == 2 and data["table"]["acronyms"] == []


def test_short_form_finds_records_that_only_spell_it_out(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([DEFINES_MHC, SPELLS_OUT, SHORT_ONLY, *FILLER])
    hits = search(ix, "MHC", limit=10).hits
    pmids = [h.pmid for h in hits]
    assert "2" in pmids  # never writes "MHC"
    # Typed words weigh more than the expansion: records that write MHC come first.
    assert pmids.index("2") > pmids.index("3")
    assert pmids.index("2") > pmids.index("1")


def test_long_form_also_finds_the_short_form(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([DEFINES_MHC, SPELLS_OUT, SHORT_ONLY, *FILLER])
    pmids = [h.pmid for h in search(ix, "major histocompatibility complex", limit=10).hits]
    assert set(pmids) == {"1", "2", "3"}
    assert pmids[-1] == "3"  # only the short form: the lowest


def test_lower_case_words_are_not_taken_for_acronyms(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([DEFINES_MHC, SPELLS_OUT, *FILLER])
    assert [h.pmid for h in search(ix, "mhc", limit=10).hits] == ["1"]


def test_ambiguous_short_forms_weigh_long_forms_by_frequency(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    alz = [
        Record(pmid=f"a{i}", title="Dementia", abstract=f"Alzheimer's disease (AD) cohort {i}.")
        for i in range(3)
    ]
    atopic = Record(pmid="d1", title="Skin", abstract="Atopic dermatitis (AD) in children.")
    only_alz = Record(pmid="x1", title="Memory", abstract="Patients with Alzheimer's disease.")
    only_atopic = Record(pmid="x2", title="Eczema", abstract="Patients with atopic dermatitis.")
    ix.upsert([*alz, atopic, only_alz, only_atopic, *FILLER])
    assert ix.acronyms.long_forms("AD") == [("alzheimer's disease", 3), ("atopic dermatitis", 1)]
    hits = {h.pmid: h.score for h in search(ix, "AD", limit=20).hits}
    assert hits["x1"] > hits["x2"] > 0


def test_acronyms_command(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    SearchIndex.create(index).upsert([DEFINES_MHC, SPELLS_OUT, *FILLER])
    result = runner.invoke(app, ["acronyms", "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["MHC", "1", "major", "histocompatibility", "complex"]
    result = runner.invoke(app, ["acronyms", "mhc", "-f", "json", "--index", str(index)])
    assert json.loads(result.stdout) == [
        {"short": "MHC", "records": 1, "long": "major histocompatibility complex"}
    ]
    result = runner.invoke(app, ["acronyms", "XYZ", "--index", str(index)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: no acronym 'XYZ' was learned")
    assert result.stderr.count("\n") == 1


def test_acronyms_command_on_the_sample(sample_index_dir: Path) -> None:
    result = runner.invoke(app, ["acronyms", "MHC", "--index", str(sample_index_dir)])
    assert result.exit_code == 0
    sf, count, *long_form = result.stdout.split()
    assert sf == "MHC" and int(count) >= 2
    assert " ".join(long_form) == "major histocompatibility complex"


@pytest.mark.slow
def test_table_is_rebuilt_when_it_does_not_match_the_index(tmp_path: Path) -> None:
    """A crash between the index commit and the table write leaves a stale table: it is
    recognised by its generation and mined afresh from the stored records."""
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([DEFINES_MHC, *FILLER])
    table_file = ix.path / TABLE_FILE
    stale = table_file.read_text("utf-8")
    ix.upsert([Record(pmid="9", title="MHC", abstract=DEFINES_MHC.abstract)])
    table_file.write_text(stale, "utf-8")  # as if the last save never happened
    assert SearchIndex.open(ix.path).acronyms.rows("MHC")[0][1] == 2
    table_file.unlink()
    reopened = SearchIndex.open(ix.path)
    reopened.delete(["1"])
    assert AcronymTable.load(ix.path).rows("MHC")[0][1] == 1
    assert json.loads(table_file.read_text("utf-8"))["generation"] >= 0


def test_long_forms_fall_back_to_any_case_and_follow_changes() -> None:
    table = AcronymTable()
    table.add([("MHC", "major histocompatibility complex")])
    assert table.long_forms("Mhc") == [("major histocompatibility complex", 1)]
    table.add([("mHC", "mean hemoglobin concentration")])
    assert table.long_forms("Mhc") == [
        ("major histocompatibility complex", 1),
        ("mean hemoglobin concentration", 1),
    ]
    assert table.long_forms("MHC") == [("major histocompatibility complex", 1)]


@pytest.mark.parametrize(
    "text",
    [
        "One. Two (T) here! Three? four. Five",
        "A. . B",
        "e.g. Tumor (T) cells! Then? no. Yes",
        "end.",
        ". A",
        "",
    ],
)
def test_sentences_split_where_the_lookbehind_split_did(text: str) -> None:
    assert list(_sentences(text)) == re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)


def test_mining_ignores_spacing() -> None:
    assert mine("  Tumour necrosis\nfactor  (TNF)\u00a0rose. ") == [
        ("TNF", "tumour necrosis factor")
    ]


@pytest.mark.slow
def test_an_open_index_uses_the_acronyms_another_process_committed(tmp_path: Path) -> None:
    """A program that keeps an index open (a notebook, a service) searches what
    another process has committed since with that commit's acronyms, as a fresh
    process would: ``MHC`` also finds the record that only spells it out once a record
    defining it has been ingested, by a real ``searchkit ingest`` process."""
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([SPELLS_OUT, SHORT_ONLY, *FILLER])
    held = SearchIndex.open(ix.path)
    before = search(held, "MHC", limit=10)
    assert [h.pmid for h in before.hits] == ["3"]  # no acronym known yet
    assert held.query_acronyms.long_forms("MHC") == []
    new = tmp_path / "new.jsonl"
    new.write_text(
        json.dumps({"pmid": "1", "title": DEFINES_MHC.title, "abstract": DEFINES_MHC.abstract})
        + "\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [_searchkit_exe(), "ingest", str(new), "--index", str(ix.path), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    fresh = search(SearchIndex.open(ix.path), "MHC", limit=10)
    assert {h.pmid for h in fresh.hits} == {"1", "2", "3"}
    again = search(held, "MHC", limit=10)
    assert [(h.pmid, h.score) for h in again.hits] == [(h.pmid, h.score) for h in fresh.hits]
    assert (again.total, again.partial_total) == (fresh.total, fresh.partial_total)
    assert held.query_acronyms.long_forms("MHC") == [("major histocompatibility complex", 1)]
    # The whole table, once loaded (as ``searchkit acronyms`` loads it), follows too.
    assert held.acronyms.rows("MHC") == [("MHC", 1, "major histocompatibility complex")]
