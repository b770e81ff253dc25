"""The checksum function gives zlib's CRC-32, whichever library computes it."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from searchkit.crc import crc32
from searchkit.engine.checksums import CHUNK_BYTES, Entry, _read_crc, file_crc


def test_crc32_is_zlibs_on_every_length_and_when_continued() -> None:
    rng = random.Random(3)
    for size in [0, 1, 7, 64, 1000, 65_537, 3_000_001]:
        data = rng.randbytes(size)
        assert crc32(data) == zlib.crc32(data)
        half = size // 2
        assert crc32(data[half:], crc32(data[:half])) == zlib.crc32(data)
        assert crc32(memoryview(data)[half:], 12345) == zlib.crc32(data[half:], 12345)


def test_a_files_checksum_is_the_same_mapped_across_chunks_or_read(tmp_path: Path) -> None:
    """``file_crc`` reads a file through memory maps of ``CHUNK_BYTES``: the value is
    zlib's over the whole file at every length around a chunk's edge, empty included,
    and the same when the file is read in chunks instead (where it cannot be mapped)."""
    data = random.Random(7).randbytes(2 * CHUNK_BYTES + 5)
    for size in (0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, len(data)):
        path = tmp_path / f"f{size}"
        path.write_bytes(data[:size])
        expected = Entry(size, zlib.crc32(data[:size]))
        assert file_crc(path) == expected
        with open(path, "rb", buffering=0) as f:
            assert _read_crc(f) == expected
