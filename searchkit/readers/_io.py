"""Byte and line access to input files, shared by every reader.

Files are opened as bytes; gzip is recognised by its magic bytes (never by the
suffix) and decompressed on the fly. Decompression and decoding failures become
:class:`InputError` naming the file and, where known, the line.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from searchkit.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

#: A line longer than this is refused rather than held in memory: no record format
#: we read puts megabytes on one line, so such a file is not what it claims to be.
MAX_LINE_BYTES = 16 * 1024 * 1024

_CHUNK = 64 * 1024


class ByteStream:
    """A read-only binary stream that counts the lines it has handed out.

    ``read`` is what ``lxml`` pulls from; ``readline`` what the line readers use.
    Both turn a damaged gzip stream into :class:`InputError` at the current line.
    """

    def __init__(self, raw: io.BufferedIOBase, source: str) -> None:
        self._raw = raw
        self.source = source
        #: 1-based number of the line the next byte belongs to.
        self.line = 1

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes; ``b""`` only at the end of the data."""
        # read1: one decompression step at a time, so the data before a damaged
        # part of a gzip stream is still handed out (read() would drop it).
        data = self._guard(lambda: self._raw.read1(size))
        self.line += data.count(b"\n")
        return data

    def readline(self, limit: int = -1) -> bytes:
        """Read one line, newline included; at most ``limit`` bytes when positive."""
        data = self._guard(lambda: self._raw.readline(limit))
        if data.endswith(b"\n"):
            self.line += 1
        return data

    def _guard(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except EOFError:
            raise InputError(
                self.source,
                "gzip file is truncated (the compressed data ends early)",
                f"line {self.line}",
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                self.source, f"corrupt gzip data ({exc})", f"line {self.line}"
            ) from None


def _open_raw(path: Path) -> io.BufferedReader:
    """Open ``path`` for binary reading, with OS errors worded for the user."""
    source = str(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # Opening a named pipe would block until someone writes to it.
        raise InputError(source, "not a regular file (a pipe, socket or device)")
    try:
        return path.open("rb")
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(source, "broken symbolic link (its target does not exist)") from None
        raise InputError(source, "no such file or directory") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, not a file") from None
    except PermissionError:
        raise InputError(source, "permission denied") from None
    except OSError as exc:
        raise InputError(source, f"cannot open file ({exc.strerror or exc})") from None


@contextmanager
def open_bytes(path: Path) -> Iterator[ByteStream]:
    """Open ``path`` as a :class:`ByteStream`, gunzipping when it starts with the
    gzip magic bytes."""
    source = str(path)
    with _open_raw(path) as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield ByteStream(unzipped, source)
        else:
            raw.seek(0)
            yield ByteStream(raw, source)


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` decompressed bytes of ``path`` (fewer if shorter).

    Unlike :func:`open_bytes` this tolerates a truncated gzip file, so that format
    detection still works and the reader can report the truncation with a line.
    """
    with _open_raw(path) as raw:
        start = raw.read(_CHUNK)
        if not start.startswith(GZIP_MAGIC):
            return (start + raw.read(max(0, size - len(start))))[:size]
        return _gunzip_head(start, raw, size, str(path))


def _gunzip_head(start: bytes, raw: io.BufferedReader, size: int, source: str) -> bytes:
    out = bytearray()
    # wbits=31: gzip container. A new decompressor per gzip member, as gzip allows
    # several members concatenated in one file.
    unzip = zlib.decompressobj(wbits=31)
    data = start
    try:
        while data and len(out) < size:
            out += unzip.decompress(data, size - len(out))
            data = unzip.unconsumed_tail
            if unzip.eof:
                data = unzip.unused_data
                unzip = zlib.decompressobj(wbits=31)
            if not data:
                data = raw.read(_CHUNK)
    except zlib.error as exc:
        raise InputError(source, f"corrupt gzip data ({exc})") from None
    return bytes(out)


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of ``path``, 1-based.

    The text is decoded as UTF-8 with a leading BOM removed and without its line
    ending (``\\n`` or ``\\r\\n``). Invalid UTF-8 raises :class:`InputError` at its
    line, after every earlier line has been yielded; so does a line longer than
    :data:`MAX_LINE_BYTES`.
    """
    for number, text in iter_lines_marking_long(path):
        if text is None:
            raise InputError(str(path), LONG_LINE_REASON, f"line {number}")
        yield number, text


#: Why a line longer than :data:`MAX_LINE_BYTES` is not read.
LONG_LINE_REASON = f"line is longer than {MAX_LINE_BYTES:,} bytes"


def iter_lines_marking_long(path: Path) -> Iterator[tuple[int, str | None]]:
    """As :func:`iter_lines`, but a line longer than :data:`MAX_LINE_BYTES` is
    skipped without being held in memory and yielded as ``(number, None)``, so that
    a reader can drop just the record it belongs to."""
    source = str(path)
    with open_bytes(path) as stream:
        number = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):
                    raw = stream.readline(_CHUNK)
                yield number, None
                continue
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            yield number, decode_line(raw, source, number)


def decode_line(raw: bytes, source: str, number: int) -> str:
    """Decode one line of bytes as UTF-8, dropping its ``\\n`` / ``\\r\\n`` ending."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise InputError(
            source,
            f"invalid UTF-8 (byte 0x{bad:02x} at byte {exc.start + 1} of the line); "
            "the file must be UTF-8 encoded",
            f"line {number}",
        ) from None
    return text.rstrip("\r\n")
