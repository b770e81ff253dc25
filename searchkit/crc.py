"""CRC-32, the checksum of every index file, file part and keyed line.

The values are :func:`zlib.crc32`'s. Intel's ISA-L (the ``isal`` package, already
there to inflate posting blocks) computes the same values with vector instructions,
12 times as fast on 12.6 MB (0.44 against 5.2 ms) and 3.6 times on 256 MiB (18.6
against 66 ms, bounded by memory bandwidth; BENCHMARKS.md, sixth pass): a process that
opens an index of up to 256 MB checks every byte of it. Where ``isal`` cannot be
imported, :mod:`zlib` computes them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

Buffer = bytes | bytearray | memoryview

try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal installs from wheels on the tested platforms
    isal_zlib = None  # type: ignore[assignment]

#: Which library computes the checksums: "isal" or "zlib".
BACKEND = "zlib" if isal_zlib is None else "isal"

crc32: Callable[..., int] = zlib.crc32 if isal_zlib is None else isal_zlib.crc32
"""``crc32(data, value=0)``: the CRC-32 of ``data``, continuing from ``value``."""

__all__ = ["BACKEND", "crc32"]
