"""Posting blocks inflated by ISA-L (:mod:`searchkit.engine.blockzlib`): byte for byte
what zlib gives, on the compressed blocks that real searches read; a damaged block is
refused with zlib's own error whichever library reads it; without ``isal``, zlib reads
them; and searches rank and count the same either way."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from searchkit import SearchIndex, search
from searchkit.engine import blockzlib as inflate
from searchkit.engine.codec import COMPRESSION

QUERIES = ["cancer cells", '"immune escape" MHC', "tumor[ti] AND protein", "patients risk"]


def _searches(index_dir: Path) -> list[tuple[int, list[tuple[str, float]]]]:
    out = []
    with SearchIndex.open(index_dir) as ix:
        for q in QUERIES:
            result = search(ix, q, limit=20)
            out.append((result.total, [(h.pmid, h.score) for h in result.hits]))
    return out


def _blocks_read(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The compressed posting blocks the searches of :data:`QUERIES` inflate."""
    seen: list[bytes] = []
    real = inflate._decompress

    def recording(data: inflate.Buffer) -> bytes:
        seen.append(bytes(data))
        return real(data)

    monkeypatch.setattr(inflate, "_decompress", recording)
    _searches(index_dir)
    monkeypatch.setattr(inflate, "_decompress", real)
    return seen


def test_isal_inflates_when_installed() -> None:
    pytest.importorskip("isal")
    assert inflate.BACKEND == "isal"


def test_same_bytes_as_zlib_on_real_blocks(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _blocks_read(sample_index_dir, monkeypatch)
    # Small blocks (the positions of large ones are LZ4 blocks:
    # searchkit.engine.codec.Lz4Values).
    assert len(blocks) >= 20
    assert sum(map(len, blocks)) > 5_000
    for data in blocks:
        assert inflate.inflate(data) == zlib.decompress(data)
        assert inflate.inflate(memoryview(data)) == zlib.decompress(data)


def test_a_damaged_block_raises_zlibs_error(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = max(_blocks_read(sample_index_dir, monkeypatch), key=len)
    wrong_sum = data[:-1] + bytes([data[-1] ^ 1])
    garbled = data[:2] + bytes(b ^ 0x5A for b in data[2:40]) + data[40:]
    for damaged in (wrong_sum, data[: len(data) // 2], garbled, b"x\x9c", b""):
        with pytest.raises(zlib.error):
            zlib.decompress(damaged)  # the yardstick: zlib refuses it too
        with pytest.raises(zlib.error):
            inflate.inflate(damaged)


def test_searches_rank_and_count_the_same_with_zlib(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_backend = _searches(sample_index_dir)
    monkeypatch.setattr(inflate, "_decompress", zlib.decompress)
    assert _searches(sample_index_dir) == with_backend
    assert all(total > 0 for total, _ in with_backend)


def test_zlib_inflates_and_deflates_where_isal_is_missing(tmp_path: Path) -> None:
    data = zlib.compress(b"a posting block " * 200, 3)
    script = (
        "import sys, zlib\n"
        "sys.modules['isal'] = None  # as if no wheel had installed\n"
        "from searchkit.engine import blockzlib\n"
        "assert blockzlib.BACKEND == 'zlib', blockzlib.BACKEND\n"
        f"data = {data!r}\n"
        "assert blockzlib.inflate(data) == zlib.decompress(data)\n"
        "assert blockzlib.deflate(b'a posting block ' * 200, 3) == data\n"
        "try:\n"
        "    blockzlib.inflate(data[:-1] + bytes([data[-1] ^ 1]))\n"
        "except zlib.error:\n"
        "    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "refused"


def test_deflated_blocks_inflate_to_the_same_bytes_with_either_library(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every block real searches read, compressed again by :func:`deflate` at the
    codec's level: zlib (what Whoosh's own reader calls) and ISA-L give back its bytes,
    and the streams are at most 15% larger than zlib's own."""
    blocks = [zlib.decompress(b) for b in _blocks_read(sample_index_dir, monkeypatch)]
    assert len(blocks) > 20
    ours = theirs = 0
    for data in blocks:
        stream = inflate.deflate(data, COMPRESSION)
        assert zlib.decompress(stream) == data
        assert inflate.inflate(stream) == data
        ours += len(stream)
        theirs += len(zlib.compress(data, COMPRESSION))
    assert ours <= 1.15 * theirs, (ours, theirs)


def test_stored_records_are_deflated_by_the_backend_and_read_by_zlib(
    sample_index_dir: Path,
) -> None:
    """Each record's stored fields, as an ingest of data/ wrote them: the stream
    :func:`deflate` makes of their pickle at the column's level (ISA-L's where it is
    installed, not zlib's), which zlib (Whoosh's reader) inflates back to the fields;
    together no larger than zlib's own streams of the same pickles."""
    import pickle

    from whoosh.codec.whoosh3 import STORED_COLUMN
    from whoosh.columns import VarBytesColumn

    from searchkit.engine.nodes import weighting
    from searchkit.params import DEFAULT

    level = STORED_COLUMN._child._level  # Whoosh's 3
    ours = theirs = checked = 0
    with SearchIndex.open(sample_index_dir) as ix:
        for sub, _ in ix.shared_searcher(weighting(DEFAULT)).leaf_searchers():
            reader = sub.reader()
            column = reader._perdoc.column_reader("_stored", STORED_COLUMN)._child
            for docnum in range(min(reader.doc_count_all(), 300)):
                stream = VarBytesColumn.Reader.__getitem__(column, docnum)
                raw = zlib.decompress(stream)
                assert pickle.loads(raw) == reader.stored_fields(docnum)
                assert stream == inflate.deflate(raw, level), docnum
                ours += len(stream)
                theirs += len(zlib.compress(raw, level))
                checked += 1
    assert checked >= 300
    if inflate.BACKEND == "isal":
        assert ours <= theirs, (ours, theirs)
