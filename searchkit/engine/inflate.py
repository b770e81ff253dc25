"""Inflating the zlib streams of posting blocks, as fast as this machine can.

A block of postings is a zlib stream (Whoosh's ``whoosh3`` blocks, written with
:mod:`zlib`). Reading a large index's common words decompresses megabytes per query:
on a 1,000,000-record index about a fifth of a query's CPU was :func:`zlib.decompress`.
Intel's ISA-L (the ``isal`` package) inflates the same streams about twice as fast
(BENCHMARKS.md, "Query speed"); its output is byte for byte zlib's, and it checks the
same Adler-32 checksum. Where ``isal`` cannot be imported (no wheel for the platform),
:mod:`zlib` does the work.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import cast

Buffer = bytes | bytearray | memoryview

try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal installs from wheels on the tested platforms
    isal_zlib = None  # type: ignore[assignment]

#: Which library inflates: "isal" or "zlib".
BACKEND = "zlib" if isal_zlib is None else "isal"

_decompress: Callable[[Buffer], bytes] = (
    zlib.decompress if isal_zlib is None else isal_zlib.decompress
)
#: The backend's own error for a damaged stream, when it is not :class:`zlib.error`.
_OTHER_ERRORS: tuple[type[Exception], ...] = (
    () if isal_zlib is None else (cast("type[Exception]", isal_zlib.error),)
)


def inflate(data: Buffer) -> bytes:
    """The bytes of the zlib stream ``data``. A damaged stream (a bad block, a wrong
    checksum, a truncated one) raises :class:`zlib.error`, whichever library read it."""
    try:
        return _decompress(data)
    except _OTHER_ERRORS as exc:
        raise zlib.error(str(exc)) from None
