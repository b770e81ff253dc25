"""The layout shared by the files written beside each generation for what every search
needs (the did-you-mean vocabulary, the MeSH words): a magic line, a JSON header with
its own CRC-32, then a body of groups, each with its own CRC-32, read one group at a
time. A problem found reading one is a :class:`GroupFileError`; the module that owns
the file names it to the user."""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from searchkit.atomic import atomic_write_bytes

#: After the magic line: the header's length and CRC-32.
HEAD = struct.Struct("<II")


class GroupFileError(Exception):
    """The file is damaged: ``problem`` says how (e.g. "does not match its checksum")."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def write(
    path: Path,
    magic: bytes,
    header: dict[str, Any],
    body: bytes | bytearray,
    stale: re.Pattern[str],
) -> Path:
    """Write ``path`` atomically and durably, then remove the files of its kind
    (``stale`` matches their names, group 1 the generation) more than one generation
    older than ``header["generation"]`` (readers may still be opening the previous
    one), and temporary files a killed writer left. Call holding the write lock."""
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    folder = path.parent
    atomic_write_bytes(path, magic + HEAD.pack(len(raw), zlib.crc32(raw)) + raw + body)
    generation = int(header["generation"])
    for old in folder.iterdir():
        m = stale.match(old.name)
        old_generation = m is not None and int(m.group(1)) < generation - 1
        if old_generation or _tmp_of(old.name, stale):
            with contextlib.suppress(OSError):  # e.g. open in a reader on Windows
                old.unlink()
    return path


def _tmp_of(name: str, stale: re.Pattern[str]) -> bool:
    """Whether ``name`` is the temporary file of a file of this kind (``.NAME.PID.HEX.tmp``,
    as :func:`searchkit.atomic.atomic_write_bytes` names it)."""
    parts = name[1:].rsplit(".", 3)
    return len(parts) == 4 and parts[3] == "tmp" and stale.fullmatch(parts[0]) is not None


def read_header(path: Path, magic: bytes, kind: str) -> tuple[dict[str, Any], int] | None:
    """The header of ``path`` and where its body starts; None when there is no file.
    ``kind`` names the file in the problem ("a searchkit vocabulary file")."""
    try:
        with path.open("rb") as f:
            start = f.read(len(magic) + HEAD.size)
            if len(start) < len(magic) + HEAD.size or not start.startswith(magic):
                raise GroupFileError(f"is not {kind}")
            size, crc = HEAD.unpack_from(start, len(magic))
            raw = f.read(size)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GroupFileError(f"cannot be read: {exc.strerror}") from None
    if len(raw) != size or zlib.crc32(raw) != crc:
        raise GroupFileError("does not match its checksum")
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise GroupFileError("does not match its checksum") from None
    return data, len(magic) + HEAD.size + size


def read_group(path: Path, base: int, offset: int, size: int, crc: int) -> bytes:
    """One group's bytes, checked against its CRC-32 (FileNotFoundError passes: the
    caller decides what a file removed by a newer commit means)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.lseek(fd, base + offset, os.SEEK_SET)
            blob = os.read(fd, size)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise GroupFileError(f"cannot be read: {exc.strerror}") from None
    if len(blob) != size or zlib.crc32(blob) != crc:
        raise GroupFileError("does not match its checksum")
    return blob
