"""An export of every hit is read and written a hit at a time (issue 20: memory that
does not grow with the hits). On a 1,000,000-record index, ``searchkit search "cancer
stem cells" -f pmid`` (65,018 hits) peaked at 2 GB: every hit's record was built into
one list and the stored records' pages stayed mapped. A page of more than
``LIST_HITS_UP_TO`` hits is now a :class:`LazyHits`: the same hits, built when read,
none kept, the mapped pages given back as it goes; the exports are written as made,
byte for byte what the whole text was."""

from __future__ import annotations

import gc
import subprocess
import weakref
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.engine.postings import release_pages
from searchkit.errors import IndexClosedError
from searchkit.output.formats import format_search, search_chunks
from searchkit.searching import search as search_module
from searchkit.searching.search import LazyHits, search

from .test_cli import _searchkit_exe

#: More hits than LIST_HITS_UP_TO on data/ (1,768 of its 2,285 records).
MANY = "cell OR patient OR protein"
runner = CliRunner()


def _listed(index_dir: Path, monkeypatch: pytest.MonkeyPatch, query: str, **kw: object):  # type: ignore[no-untyped-def]
    """The search's result with every page a list (as before LazyHits)."""
    with monkeypatch.context() as m:
        m.setattr(search_module, "LIST_HITS_UP_TO", 10**9)
        with SearchIndex.open(index_dir) as ix:
            result = search(ix, query, limit=None, **kw)  # type: ignore[arg-type]
            assert isinstance(result.hits, list)
            return result


def test_a_long_page_gives_the_same_hits_one_at_a_time(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _listed(sample_index_dir, monkeypatch, MANY)
    with SearchIndex.open(sample_index_dir) as ix:
        result = search(ix, MANY, limit=None)
        hits = result.hits
        assert isinstance(hits, LazyHits)
        assert len(hits) == len(listed.hits) > search_module.LIST_HITS_UP_TO
        assert list(hits) == listed.hits  # ranks, scores, records, snippets, partial
        assert hits[0] == listed.hits[0] and hits[-1] == listed.hits[-1]
        assert hits[5:9] == listed.hits[5:9]
        with pytest.raises(IndexError):
            hits[len(hits)]
        assert result.counted == listed.counted == sum(not h.partial for h in listed.hits)
        assert result.total == listed.total
        # An offset: the same hits as the list's from there.
        later = search(ix, MANY, limit=None, offset=300)
        assert isinstance(later.hits, LazyHits)
        assert list(later.hits) == listed.hits[300:]
        assert later.counted == sum(not h.partial for h in listed.hits[300:])


def test_the_pmids_of_a_long_page_come_from_the_pmid_column(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LazyHits.pmids()`` (what ``-f pmid`` writes) gives the hits' PMIDs in order,
    with an offset too, in chunks, without building a hit (no record is read)."""
    monkeypatch.setattr(search_module, "PMID_CHUNK", 100)
    built = []
    real = search_module._make_hit
    monkeypatch.setattr(
        search_module,
        "_make_hit",
        lambda *a: built.append(1) or real(*a),  # type: ignore[func-returns-value]
    )
    with SearchIndex.open(sample_index_dir) as ix:
        for offset in (0, 250):
            hits = search(ix, MANY, limit=None, offset=offset, with_snippets=False).hits
            assert isinstance(hits, LazyHits)
            built.clear()
            pmids = list(hits.pmids())
            assert not built
            assert pmids == [h.pmid for h in hits] and len(pmids) == len(hits)
        hits = search(ix, MANY, limit=None, with_snippets=False).hits
    assert isinstance(hits, LazyHits)
    with pytest.raises(IndexClosedError):
        list(hits.pmids())


def test_hits_read_after_the_index_is_closed_say_so(sample_index_dir: Path) -> None:
    ix = SearchIndex.open(sample_index_dir)
    hits = search(ix, MANY, limit=None, with_snippets=False).hits
    assert isinstance(hits, LazyHits)
    first = hits[0]
    ix.close()
    with pytest.raises(IndexClosedError, match="closed before these hits were read"):
        next(iter(hits))
    with pytest.raises(IndexClosedError):
        hits[0]
    assert first.pmid  # a hit read before stays whole


def test_the_hits_read_are_not_kept(sample_index_dir: Path) -> None:
    with SearchIndex.open(sample_index_dir) as ix:
        hits = search(ix, MANY, limit=None, with_snippets=False).hits
        assert isinstance(hits, LazyHits)
        refs = []
        for hit in hits:
            refs.append(weakref.ref(hit))
        del hit
        gc.collect()
        assert sum(r() is not None for r in refs) == 0


def _resident_kb(suffix: str) -> int:
    """Resident kB of this process's maps of files ending with ``suffix`` (Linux)."""
    total = 0
    current = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:  # a mapping's first line
            current = len(head) >= 6 and head[-1].endswith(suffix)
        elif current and line.startswith("Rss:"):
            total += int(head[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc/self/smaps")
def test_reading_many_records_gives_their_pages_back(sample_index_dir: Path) -> None:
    with SearchIndex.open(sample_index_dir) as ix:
        result = search(ix, MANY, limit=None, with_snippets=False)
        hits = result.hits
        assert isinstance(hits, LazyHits)
        for i in range(len(hits)):
            hits[i]  # read by index: nothing is given back meanwhile
        held = _resident_kb(".seg")
        assert held > 0
        release_pages(hits._results.searcher.reader())
        assert _resident_kb(".seg") < held / 4


@pytest.mark.parametrize("fmt", ["pmid", "medline", "ris", "csv", "jsonl"])
def test_exports_are_written_as_the_whole_text_was(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The searchkit process (LazyHits, written in pieces) prints exactly what the
    whole text of the listed hits is."""
    snippets = fmt not in ("pmid", "medline", "ris")
    listed = _listed(sample_index_dir, monkeypatch, MANY, with_snippets=snippets, partial=False)
    expected = format_search(listed, fmt)
    assert "".join(search_chunks(listed, fmt)) == expected
    out = subprocess.run(
        [_searchkit_exe(), "search", MANY, "--index", str(sample_index_dir), "-f", fmt],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected + "\n"
    if fmt == "pmid":
        assert len(out.stdout.splitlines()) == listed.total > search_module.LIST_HITS_UP_TO


def test_the_cli_streams_through_echo_in_pieces(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a long export is written in several writes, and says nothing of
    hits not shown (every one is)."""
    from searchkit.cli import common

    monkeypatch.setattr(common, "ECHO_CHUNK", 4096)
    result = runner.invoke(app, ["search", MANY, "--index", str(sample_index_dir), "-f", "ris"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ER  -") > search_module.LIST_HITS_UP_TO
    assert "shown" not in result.stderr


def test_a_strategy_writes_its_long_final_set_as_the_whole_text_was(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    strategy = tmp_path / "strategy.txt"
    strategy.write_text("cell\npatient OR protein\n#1 OR #2\n", encoding="utf-8")
    args = ["strategy", str(strategy), "--index", str(sample_index_dir), "-f", "ris"]
    with monkeypatch.context() as m:  # the final set as a list, its text whole
        m.setattr(search_module, "LIST_HITS_UP_TO", 10**9)
        listed = runner.invoke(app, args)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.count("ER  -") > search_module.LIST_HITS_UP_TO
    out = tmp_path / "final.ris"
    result = subprocess.run(
        [_searchkit_exe(), *args, "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == listed.stdout
    bad = runner.invoke(app, [*args, "--fields", "pmid", "--output", str(tmp_path / "no.ris")])
    assert bad.exit_code != 0 and "--fields works with" in bad.stderr
    assert not (tmp_path / "no.ris").exists()
