"""The layout shared by the files written with each segment for what every search
needs (the did-you-mean vocabulary, the MeSH words): a magic line, a JSON header with
its own CRC-32, then a body of groups, each with its own CRC-32, read a few groups at a
time. A problem found reading one is a :class:`GroupFileError`; the module that owns
the file names it to the user."""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from searchkit.atomic import atomic_write_bytes
from searchkit.crc import crc32

#: After the magic line: the header's length and CRC-32.
HEAD = struct.Struct("<II")


class GroupFileError(Exception):
    """The file is damaged: ``problem`` says how (e.g. "does not match its checksum")."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def write(path: Path, magic: bytes, header: dict[str, Any], body: bytes | bytearray) -> Path:
    """Write ``path`` atomically and durably. Call holding the write lock."""
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    atomic_write_bytes(path, magic + HEAD.pack(len(raw), crc32(raw)) + raw + body)
    return path


def remove_files(folder: Path, kind: re.Pattern[str]) -> None:
    """Remove the files whose names ``kind`` matches in full, and the temporary files a
    killed writer left of them (``.NAME.PID.HEX.tmp``, as
    :func:`searchkit.atomic.atomic_write_bytes` names them). Call holding the write
    lock."""
    for old in folder.iterdir():
        if kind.fullmatch(old.name) or _tmp_of(old.name, kind):
            with contextlib.suppress(OSError):  # e.g. open in a reader on Windows
                old.unlink()


def remove_temporary(folder: Path, kind: re.Pattern[str]) -> None:
    """Remove only the temporary files a killed writer left of files of ``kind``."""
    for old in folder.iterdir():
        if _tmp_of(old.name, kind):
            with contextlib.suppress(OSError):
                old.unlink()


def _tmp_of(name: str, kind: re.Pattern[str]) -> bool:
    """Whether ``name`` is the temporary file of a file of this kind."""
    parts = name[1:].rsplit(".", 3)
    return (
        name.startswith(".")
        and len(parts) == 4
        and parts[3] == "tmp"
        and kind.fullmatch(parts[0]) is not None
    )


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
    if len(raw) != size or crc32(raw) != crc:
        raise GroupFileError("does not match its checksum")
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise GroupFileError("does not match its checksum") from None
    return data, len(magic) + HEAD.size + size


def read_segment_header(
    path: Path, magic: bytes, kind: str, layout: int, segment_id: str, directory: str
) -> tuple[dict[str, Any], int] | None:
    """The directory (header entry ``directory``) of segment ``segment_id``'s file and
    where its body starts; None when there is no file or it is of another ``layout``
    (the caller reads the segment instead). A header that names another segment, or
    has no directory, is damaged."""
    found = read_header(path, magic, kind)
    if found is None:
        return None
    data, base = found
    if data.get("format") != layout:
        return None
    groups = data.get(directory)
    if data.get("segment") != segment_id or not isinstance(groups, dict):
        raise GroupFileError("does not describe its segment")
    return groups, base


def read_group(path: Path, base: int, offset: int, size: int, crc: int) -> bytes:
    """One group's bytes, checked against its CRC-32 (FileNotFoundError passes: the
    caller decides what a file removed by a newer commit means)."""
    return read_groups(path, base, [(offset, size, crc)])[0]


def read_groups(path: Path, base: int, groups: Sequence[tuple[int, int, int]]) -> list[bytes]:
    """The bytes of ``groups`` (offset, size, CRC-32 each), each checked against its
    CRC-32, read in one go from the first group's start to the last one's end (groups
    written next to each other cost one read). FileNotFoundError passes, as for
    :func:`read_group`."""
    if not groups:
        return []
    start = min(offset for offset, _, _ in groups)
    end = max(offset + size for offset, size, _ in groups)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.lseek(fd, base + start, os.SEEK_SET)
            span = os.read(fd, end - start)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise GroupFileError(f"cannot be read: {exc.strerror}") from None
    out: list[bytes] = []
    for offset, size, crc in groups:
        blob = span[offset - start : offset - start + size]
        if len(blob) != size or crc32(blob) != crc:
            raise GroupFileError("does not match its checksum")
        out.append(blob)
    return out
