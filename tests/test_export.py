"""The MEDLINE and RIS writers on real records: every format the readers know,
written as MEDLINE and read back, gives the same records."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit.output.citations import medline, ris, to_medline, to_ris
from searchkit.readers import iter_files, read_file, read_medline
from searchkit.records import Author, MeshHeading, Record

from .conftest import SAMPLE_DIR


def _normal(record: Record) -> dict:
    """A record with runs of whitespace in its text values collapsed (MEDLINE joins
    continuation lines with one space, as PubMed's own files do)."""
    return {
        k: " ".join(v.split()) if isinstance(v, str) else v for k, v in record.to_dict().items()
    }


def _round_trip(records: list[Record], tmp_path: Path) -> None:
    path = tmp_path / "out.nbib"
    path.write_text(medline(records) + "\n", "utf-8")
    back = [r for r in read_medline(path) if isinstance(r, Record)]
    assert len(back) == len(records)
    assert [_normal(r) for r in back] == [_normal(r) for r in records]


def _records(folder: Path) -> list[Record]:
    found: dict[str, Record] = {}
    for path in iter_files([folder]):
        for item in read_file(path):
            if isinstance(item, Record):
                found[item.pmid] = item
    return list(found.values())


@pytest.mark.slow
def test_bundled_sample_round_trips(tmp_path: Path) -> None:
    records = _records(SAMPLE_DIR)
    assert len(records) > 2000
    _round_trip(records, tmp_path)


@pytest.mark.slow
def test_shared_data_round_trips(shared_data: Path, tmp_path: Path) -> None:
    records = [
        r
        for sub in ("pubmed_xml", "medline", "pubmed_abstract_text", "seed")
        if (shared_data / sub).is_dir()
        for r in _records(shared_data / sub)
    ]
    if not records:
        pytest.skip(f"no PubMed records under {shared_data}")
    _round_trip(records, tmp_path)


def test_medline_layout_and_edge_cases(tmp_path: Path) -> None:
    record = Record(
        pmid="123",
        title="A title " + "long " * 30 + "end.",
        abstract="Line one.\nLine two with an unbreakable " + "x" * 95 + " word.",
        authors=(Author("Smith JA", "Smith, John A"), Author("Collective Group")),
        mesh=(MeshHeading("Neoplasms", True, ("genetics", "therapy")), MeshHeading("Mice")),
        keywords=("immune escape",),
        journal="Cells",
        journal_abbrev="Cells",
        year=2021,
        pub_date="2021-09-13",
        doi="10.3390/cells10092361",
        pmcid="PMC8465760",
        publication_types=("Journal Article", "Review"),
        languages=("eng",),
    )
    text = to_medline(record)
    lines = text.splitlines()
    assert lines[0] == "PMID- 123"
    assert all(len(line) <= 88 or " " not in line[6:] for line in lines)
    assert all(line[:6] == "      " or line[4:6] == "- " for line in lines)
    assert "DP  - 2021 Sep 13" in lines
    assert "MH  - *Neoplasms/genetics/therapy" in lines and "MH  - Mice" in lines
    assert "AID - 10.3390/cells10092361 [doi]" in lines
    _round_trip([record, Record(pmid="9")], tmp_path)


def test_ris_entry() -> None:
    record = Record(
        pmid="123",
        title="T",
        authors=(Author("Smith JA", "Smith, John A"), Author("Doe J")),
        year=2020,
        pub_date="2020-05",
        journal="Cells",
        keywords=("k1",),
        mesh=(MeshHeading("Mice"),),
        doi="10.1/x",
    )
    lines = to_ris(record).splitlines()
    assert lines[0] == "TY  - JOUR" and lines[-1] == "ER  - "
    assert "AU  - Smith, John A" in lines and "AU  - Doe, J" in lines
    assert {"PY  - 2020", "DA  - 2020/05", "T2  - Cells", "KW  - k1", "KW  - Mice"} <= set(lines)
    assert {"DO  - 10.1/x", "AN  - 123", "UR  - https://pubmed.ncbi.nlm.nih.gov/123/"} <= set(lines)
    assert ris([record, record]).count("TY  - JOUR") == 2
