"""The zlib streams of posting blocks, inflated and deflated as fast as this machine can.

A block of postings is a zlib stream (Whoosh's ``whoosh3`` blocks). Intel's ISA-L
(the ``isal`` package) does both directions:

* :func:`inflate`: reading a large index's common words decompresses megabytes per
  query (on a 1,000,000-record index about a fifth of a query's CPU was
  :func:`zlib.decompress`). ISA-L inflates the same streams about twice as fast
  (BENCHMARKS.md, "Query speed"); its output is byte for byte zlib's, and it checks
  the same Adler-32 checksum.
* :func:`deflate`: compressing blocks was a sixth of a merge's CPU. ISA-L's level 3
  compresses about three times as fast as zlib's level 3. Its streams are 11-14%
  larger (the posting blocks of ``data/`` and of a 100,000-record index; 4% of a
  whole segment), and both libraries, Whoosh's reader included, inflate them to the
  same bytes (ISA-L a fifth quicker than zlib's streams). Each record's stored fields
  (a pickled dict of a few kilobytes: ``codec.stored_by_deflate``) it compresses 2.2x
  as fast as zlib, into streams 2% smaller: an ingest's CPU 0.96x.

Where ``isal`` cannot be imported (no wheel for the platform), :mod:`zlib` does the
work, at the same level.
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

#: Which library inflates and deflates: "isal" or "zlib".
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


#: The highest level ISA-L compresses at (its levels are 0 to 3).
_ISAL_MAX_LEVEL = 3


def deflate(data: Buffer, level: int) -> bytes:
    """``data`` as a zlib stream compressed at ``level`` (zlib's scale, 1 to 9: ISA-L
    compresses at the same level, 3 at most)."""
    if isal_zlib is None:
        return zlib.compress(data, level)
    return isal_zlib.compress(data, min(level, _ISAL_MAX_LEVEL))
