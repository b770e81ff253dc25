"""A rebuild never loses a record the index holds. Ingest replaces records by PMID and
keeps the others, so a record can be in the index without being in any recorded
source as it is now: its file was edited (the record taken out) and ingested again,
or it was written through the Python API from no file. A rebuild re-reads the
sources and keeps those records too (re-analysed from what the index stored),
saying how many; records removed with ``searchkit delete`` or a ``DeleteCitation``
stay removed. Through the CLI in-process and as a real process, and the API."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from searchkit import Record, SearchIndex, ingest
from searchkit.index.rebuild import rebuild

from .cli_helpers import run, searchkit_exe

TWO = "PMID- 99100001\nTI  - Alpha colitis record.\n\nPMID- 99100002\nTI  - Beta colitis record.\n"
ONE_EDITED = "PMID- 99100001\nTI  - Alpha colitis record edited.\n"


def _pmids(index: Path, query: str = "colitis") -> list[str]:
    result = run(index, "search", query, "--format", "pmid")
    assert result.exit_code == 0, result.stderr
    return sorted(result.stdout.split())


def test_a_record_taken_out_of_its_file_survives_a_rebuild(tmp_path: Path) -> None:
    source, index = tmp_path / "f.nbib", tmp_path / "ix"
    source.write_text(TWO, "utf-8")
    assert run(index, "ingest", str(source), "--procs", "1").exit_code == 0
    source.write_text(ONE_EDITED, "utf-8")
    assert run(index, "ingest", str(source), "--procs", "1").exit_code == 0
    assert _pmids(index) == ["99100001", "99100002"]  # ingest replaced one, kept one
    rebuilt = run(index, "rebuild", "--procs", "1")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert _pmids(index) == ["99100001", "99100002"]
    assert _pmids(index, "edited") == ["99100001"]
    assert "Kept 1 record that no recorded source holds" in rebuilt.stderr
    assert "(2 records)" in rebuilt.stderr


def test_records_from_no_file_and_deleted_ones(tmp_path: Path) -> None:
    """Written through the API (no source file): kept. Deleted with ``delete``: not
    brought back from the old index."""
    source, index = tmp_path / "f.jsonl", tmp_path / "ix"
    rows = [{"pmid": str(n), "title": f"Colitis record {n}", "year": 2020} for n in (1, 2, 3)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    with SearchIndex.create(index) as ix:
        assert ingest([source], ix).ok
        ix.upsert([Record(pmid="api-1", title="Colitis written by a program")])
    assert run(index, "delete", "2").exit_code == 0
    new, report = rebuild(SearchIndex.open(index))
    assert report.kept == 1
    assert sorted(r for r in (new.get(p).pmid for p in ("1", "3", "api-1"))) == ["1", "3", "api-1"]
    assert len(new) == 3
    assert _pmids(index) == ["1", "3", "api-1"]


def test_a_rebuild_after_an_analysis_change_keeps_them_too(tmp_path: Path) -> None:
    """The old index is refused for its analysis (a searchkit that analyses otherwise
    opens it for nothing but a rebuild): its records are still read, as a real
    process shows."""
    source, index = tmp_path / "f.nbib", tmp_path / "ix"
    source.write_text(TWO, "utf-8")
    env = {**os.environ, "SEARCHKIT_INDEX": str(index)}

    def sk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [searchkit_exe(), *args], capture_output=True, text=True, env=env, check=False,
            timeout=120,
        )  # fmt: skip

    assert sk("ingest", str(source), "--procs", "1").returncode == 0
    source.write_text(ONE_EDITED, "utf-8")
    assert sk("ingest", str(source), "--procs", "1").returncode == 0
    meta = json.loads((index / "searchkit.json").read_text("utf-8"))
    meta["analysis"] = {**meta["analysis"], "stop_words": "0" * 16}
    (index / "searchkit.json").write_text(json.dumps(meta), "utf-8")
    assert sk("search", "colitis").returncode == 1  # refused: rebuild it
    rebuilt = sk("rebuild", "--procs", "1")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Kept 1 record" in rebuilt.stderr
    found = sk("search", "colitis", "--format", "pmid")
    assert sorted(found.stdout.split()) == ["99100001", "99100002"], found.stderr
