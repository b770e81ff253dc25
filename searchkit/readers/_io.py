"""Byte and line access to input files, shared by every reader.

Files are opened as bytes; gzip is recognised by its magic bytes (never by the
suffix) and decompressed on the fly. Decompression failures become
:class:`InputError` naming the file and, where known, the line; a line that cannot
be decoded is handed to the reader with its problem, so that only its record is
lost.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

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


#: What a byte that is not UTF-8 becomes in XML handed to the parser: a
#: noncharacter, which XML allows in text and attribute values and PubMed never uses,
#: so that the reader can find the record that held the byte.
INVALID_BYTE_MARK = "\ufdd0"
_MARK_BYTES = INVALID_BYTE_MARK.encode("utf-8")
#: How much of the start of an XML file is read before deciding on its encoding.
_DECLARATION_BYTES = 1024
_ENCODING_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


class Utf8Repair:
    """A stream over a :class:`ByteStream` that hands out valid UTF-8 only.

    Each run of bytes that is not valid UTF-8 becomes :data:`INVALID_BYTE_MARK`, and
    :attr:`problems` gets the line of the first such byte on each line, with the
    reason worded as for a line reader. Valid data passes through unchanged (it is
    checked by decoding it, about 1 ms per MB); the work stays linear in the size of
    the data however many bytes are bad. A stream whose XML declaration names
    another encoding is passed through untouched, for the parser to decode.
    """

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        #: ``(line, reason)`` of the first replaced byte of each line, in file order.
        self.problems: deque[tuple[int, str]] = deque()
        self._utf8: bool | None = None  # None until the first read has been seen
        self._pending = b""  # a sequence cut by the end of the last read
        self._line = 1  # line of the next byte after those handed out
        self._column = 0  # bytes of that line handed out already

    def read(self, size: int = -1) -> bytes:
        """Read up to about ``size`` bytes (a little more or less where bytes were
        replaced or a sequence is held back); ``b""`` only at the end."""
        while True:
            data = self._stream.read(size)
            if self._utf8 is None:
                while 0 < len(data) < _DECLARATION_BYTES:  # enough to see the declaration
                    more = self._stream.read(_DECLARATION_BYTES)
                    if not more:
                        break
                    data += more
                self._utf8 = not _declares_other_encoding(data)
            if not self._utf8:
                return data
            final = not data
            data, self._pending = self._pending + data, b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                data = self._repair(data, final=final)
            else:
                self._advance(data)
            if data or final:
                return data

    def _repair(self, data: bytes, *, final: bool) -> bytes:
        """``data`` with bad bytes marked and recorded; a sequence cut by the end of
        ``data`` is kept back in ``_pending`` unless ``final``."""
        decoder = _SURROGATE_DECODER("surrogateescape")
        text = decoder.decode(data, final)
        self._pending = decoder.getstate()[0]
        consumed = data[: len(data) - len(self._pending)]
        line, counted, last_problem_line = self._line, 0, 0
        for match in _ESCAPED_BYTES.finditer(text):
            at = match.start()
            line += text.count("\n", counted, at)
            counted = at
            if line == last_problem_line:
                continue
            last_problem_line = line
            line_start = text.rfind("\n", 0, at) + 1
            column = len(text[line_start:at].encode("utf-8", "surrogateescape"))
            if line_start == 0:
                column += self._column
            byte = ord(text[at]) - 0xDC00
            self.problems.append((line, _invalid_utf8_at(byte, column)))
        self._advance(consumed)
        return _ESCAPED_BYTES.sub(INVALID_BYTE_MARK, text).encode("utf-8")

    def _advance(self, data: bytes) -> None:
        newlines = data.count(b"\n")
        if newlines:
            self._line += newlines
            self._column = len(data) - data.rfind(b"\n") - 1
        else:
            self._column += len(data)


_SURROGATE_DECODER = codecs.getincrementaldecoder("utf-8")
# surrogateescape turns each byte that is not UTF-8 into U+DC80..U+DCFF.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def _declares_other_encoding(head: bytes) -> bool:
    match = _ENCODING_DECLARATION.match(head.removeprefix(UTF8_BOM))
    return match is not None and match[1].lower().replace(b"_", b"-") not in (b"utf-8", b"utf8")


# The input file this thread opened last, so that progress can say how far into it
# the reading is (:func:`input_position`).
_LAST_OPENED = threading.local()


def input_position() -> int | None:
    """How many bytes of the input file this thread is reading have been read (of
    the file as stored: compressed bytes for a gzipped file); None when none is open."""
    handle: io.BufferedReader | None = getattr(_LAST_OPENED, "handle", None)
    if handle is None or handle.closed:
        return None
    try:
        return handle.tell()
    except (OSError, ValueError):
        return None


def _open_raw(path: Path) -> io.BufferedReader:
    """Open ``path`` for binary reading, with OS errors worded for the user."""
    handle = _open_raw_file(path)
    _LAST_OPENED.handle = handle
    return handle


def _open_raw_file(path: Path) -> io.BufferedReader:
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


class Line(NamedTuple):
    """One line of an input file, as :func:`read_lines` gives it."""

    #: 1-based line number.
    number: int
    #: The text without its line ending. When :attr:`problem` is set it is only good
    #: for seeing where records begin and end: invalid bytes are replaced by U+FFFD,
    #: and a line longer than :data:`MAX_LINE_BYTES` is cut to its first
    #: :data:`LONG_LINE_KEPT` bytes.
    text: str
    #: Why the line cannot be read (invalid UTF-8, too long), else ``None``: the
    #: reader skips the record the line belongs to, with this reason.
    problem: str | None = None
    #: Whether a line break ended the line: only the last line of a file can lack
    #: one (a file cut short, or one written without a final line break).
    ended: bool = True


#: Why a line longer than :data:`MAX_LINE_BYTES` is not read.
LONG_LINE_REASON = f"line is longer than {MAX_LINE_BYTES:,} bytes"
#: Why the last record of a file cut short (a download or copy broken off) is not read.
CUT_SHORT_REASON = "file ends mid-record (truncated?); the record is not read"
#: How much of a line longer than :data:`MAX_LINE_BYTES` is kept as its text.
LONG_LINE_KEPT = 1024


def read_lines(path: Path) -> Iterator[Line]:
    """Yield each line of ``path`` as a :class:`Line`.

    The text is decoded as UTF-8 with a leading BOM removed and without its line
    ending (``\\n`` or ``\\r\\n``). A line that is not valid UTF-8, or longer than
    :data:`MAX_LINE_BYTES` (never held in memory whole), comes with its problem,
    and the lines after it are read as usual: one bad byte costs one record, not
    the rest of the file. A damaged gzip stream raises :class:`InputError`.
    """
    with open_bytes(path) as stream:
        number = 0
        while True:
            raw = stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            if len(raw) > MAX_LINE_BYTES:
                start = raw[:LONG_LINE_KEPT]
                while raw and not raw.endswith(b"\n"):
                    raw = stream.readline(_CHUNK)
                text = start.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Line(number, text, LONG_LINE_REASON, raw.endswith(b"\n"))
                continue
            ended = raw.endswith(b"\n")
            try:
                yield Line(number, raw.decode("utf-8").rstrip("\r\n"), None, ended)
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Line(number, text, _invalid_utf8(raw, exc), ended)


def _invalid_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    return _invalid_utf8_at(raw[exc.start], exc.start)


def _invalid_utf8_at(byte: int, column: int) -> str:
    """Why a line is unreadable: ``byte`` is not UTF-8, ``column`` bytes into it."""
    return (
        f"invalid UTF-8 (byte 0x{byte:02x} at byte {column + 1} of the line); "
        "the file must be UTF-8 encoded"
    )
