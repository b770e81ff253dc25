"""The checksum function gives zlib's CRC-32, whichever library computes it."""

from __future__ import annotations

import random
import zlib

from searchkit.crc import crc32


def test_crc32_is_zlibs_on_every_length_and_when_continued() -> None:
    rng = random.Random(3)
    for size in [0, 1, 7, 64, 1000, 65_537, 3_000_001]:
        data = rng.randbytes(size)
        assert crc32(data) == zlib.crc32(data)
        half = size // 2
        assert crc32(data[half:], crc32(data[:half])) == zlib.crc32(data)
        assert crc32(memoryview(data)[half:], 12345) == zlib.crc32(data[half:], 12345)
