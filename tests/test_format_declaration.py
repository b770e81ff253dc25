"""The format version an index declares (``schema_version`` in ``searchkit.json``) says
what its data is: an index of an older format this searchkit reads (format 9: no
``pmcid`` field) keeps declaring it until a commit writes data of this searchkit's
format into it, and declares the current format from that commit on (its new segments
then stand beside its old ones, which only a searchkit of the current format may
read together). What commits nothing (an ingest of unchanged files, a deletion of
absent ids, ``mesh load``, a refused rebuild) leaves the declaration alone.

Real files, the CLI in process and as real ``searchkit`` processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.index import schema as schema_module
from searchkit.index import searchindex as searchindex_module
from searchkit.index.schema import SCHEMA_VERSION
from searchkit.readers import read_file
from searchkit.records import Record

from .cli_helpers import process
from .conftest import ORTHO_NBIB, ORTHO_XML, SCIFACT, TEST_DATA, index_version, set_index_version

runner = CliRunner()
OLDER = 9  # a format this searchkit reads, without the ``pmcid`` field
HINT = "this index was made before PMC ids were indexed"


def _schema_without_pmcid() -> object:
    """The schema of format 9 and older: no ``pmcid`` field."""
    schema = schema_module.build_schema()
    schema.remove("pmcid")
    return schema


def _ingest(index: Path, *args: str) -> str:
    result = runner.invoke(app, ["ingest", *args, "--index", str(index), "--procs", "1"])
    assert result.exit_code == 0, result.output
    return result.output


def _older_index(tmp_path: Path) -> tuple[Path, list[Path]]:
    """An index of format 9 made of copies of two real files (its sources)."""
    index = tmp_path / "ix"
    sources = [tmp_path / ORTHO_XML.name, tmp_path / SCIFACT.name]
    for source, original in zip(sources, (ORTHO_XML, SCIFACT), strict=True):
        shutil.copy(original, source)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(searchindex_module, "build_schema", _schema_without_pmcid)
        _ingest(index, *map(str, sources))
    set_index_version(index, OLDER)
    return index, sources


def _says_to_rebuild_for_pmcid(index: Path) -> None:
    """``[pmcid]`` is refused with the one-line hint to rebuild, in process and by a
    real ``searchkit`` process."""
    result = runner.invoke(app, ["search", "--index", str(index), "--", "PMC8469208[pmcid]"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and HINT in result.stderr, result.stderr
    run = process(index, "search", "--", "PMC8469208[pmcid]")
    assert run.returncode == 1 and run.stdout == "", run.stderr
    assert run.stderr.count("\n") == 1 and HINT in run.stderr, run.stderr


def test_what_commits_nothing_leaves_an_older_declaration_and_a_commit_raises_it(
    tmp_path: Path,
) -> None:
    index, sources = _older_index(tmp_path)
    declared = (index / "searchkit.json").read_bytes()

    # Every file unchanged: skipped, or read again (--force) and every record unchanged.
    assert "unchanged since ingested" in _ingest(index, *map(str, sources))
    assert "unchanged" in _ingest(index, "--force", *map(str, sources))
    run = process(index, "ingest", *map(str, sources), "--procs", "1")
    assert run.returncode == 0 and "unchanged since ingested" in run.stderr, run.stderr
    # A deletion of an id the index does not hold; a MeSH tree loaded beside the segments.
    absent = runner.invoke(app, ["delete", "999999999", "--index", str(index)])
    assert absent.exit_code == 1 and "not in the index: 999999999" in absent.stderr
    mesh = process(index, "mesh", "load", str(TEST_DATA / "mesh" / "desc-sample.xml"))
    assert mesh.returncode == 0, mesh.stderr
    # A rebuild refused (a recorded source is gone) before any work.
    moved = sources[1].rename(tmp_path / "elsewhere.jsonl")
    refused = process(index, "rebuild")
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1, refused.stderr
    moved.rename(sources[1])

    assert index_version(index) == OLDER
    assert (index / "searchkit.json").read_bytes() == declared
    _says_to_rebuild_for_pmcid(index)

    # A commit (other versions of some records, by a real process): the current format
    # from then on, beside old segments that keep the index's schema (no pmcid field).
    run = process(index, "ingest", str(ORTHO_NBIB), "--procs", "1")
    assert run.returncode == 0, run.stderr
    assert index_version(index) == SCHEMA_VERSION
    _says_to_rebuild_for_pmcid(index)


def _records(path: Path, count: int) -> list[Record]:
    return [item for item in read_file(path) if isinstance(item, Record)][:count]


def test_a_commit_through_the_api_declares_the_current_format(tmp_path: Path) -> None:
    """Writes through :class:`SearchIndex` itself, outside ``locked()`` (a batch takes
    the lock by itself): declared when they commit, and only then."""
    index, _ = _older_index(tmp_path)
    with SearchIndex.open(index) as opened:
        with opened.locked():
            pass
        assert opened.delete(["999999999"]).not_found == ["999999999"]
        assert opened.upsert(_records(SCIFACT, 2)).unchanged == 2
        with opened.batch() as batch:
            batch.upsert(_records(SCIFACT, 1)[0])
        assert index_version(index) == OLDER
        added = _records(ORTHO_NBIB, 1)[0]
        assert opened.upsert([added]).replaced == 1
        assert index_version(index) == SCHEMA_VERSION

    set_index_version(index, OLDER)
    with SearchIndex.open(index) as opened:
        opened.optimize()  # a commit: every segment written again, by this searchkit
    assert index_version(index) == SCHEMA_VERSION
