"""The search history of an index, numbered as in PubMed's Advanced Search.

Every ``searchkit search`` appends one line (number, query, count, time) to
``history.jsonl`` in the index directory, and ``#N`` in a later query stands for
search N. Reading, appending and clearing hold an exclusive lock on the file, so
concurrent searches get distinct numbers and never interleave their lines; a line
that cannot be read (a process killed mid-write, bytes that are not UTF-8) is passed
over, and a line left without its end is ended before the next one is written.

Appending reads the file back from its end only as far as its last readable line (a
search's cost does not grow with the history), and the file is read a line at a time.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from searchkit.errors import SearchkitError
from searchkit.index.locking import holding

HISTORY_FILE = "history.jsonl"


class HistoryError(SearchkitError):
    """The history file cannot be read or written."""


@dataclass(frozen=True)
class Entry:
    """One search of the history."""

    number: int
    query: str
    count: int
    time: str  # ISO 8601, UTC, to the second

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


#: Bytes read at a time from the end of the file for its last line.
TAIL_BYTES = 64 * 1024
#: A line longer than this (its end of line not counted) is not a search (a query is a
#: line of text): it is passed over like any line that cannot be read, never held in
#: memory whole.
MAX_LINE_BYTES = 1024 * 1024


def _parse(line: bytes) -> Entry | None:
    try:
        data = json.loads(line.decode("utf-8"))
        return Entry(int(data["number"]), str(data["query"]), int(data["count"]), str(data["time"]))
    except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
        return None


def _read(handle: IO[bytes]) -> Iterator[Entry]:
    """The readable entries of the file, first to last, a line at a time."""
    handle.seek(0)
    while line := handle.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # the rest of the long line
                line = handle.readline(MAX_LINE_BYTES)
            continue
        entry = _parse(line)
        if entry is not None:
            yield entry


def _last(handle: IO[bytes]) -> tuple[Entry | None, bool]:
    """The file's last readable entry (None: none), read back from its end
    :data:`TAIL_BYTES` at a time; and whether the file ends in the middle of a line
    (a write cut short)."""
    end = handle.seek(0, os.SEEK_END)
    if not end:
        return None, False
    handle.seek(end - 1)
    unended = handle.read(1) != b"\n"
    # The end of a line whose start is not read yet, unless it is too long to be one.
    position, head, too_long = end, b"", False
    while position:
        start = max(0, position - TAIL_BYTES)
        handle.seek(start)
        lines = (handle.read(position - start) + head).split(b"\n")
        position = start
        head = lines.pop(0) if position else b""
        if too_long and lines:  # the start of the long line: not a search either
            lines.pop()
            too_long = False
        for line in reversed(lines):
            entry = _parse(line) if len(line) <= MAX_LINE_BYTES else None
            if entry is not None:
                return entry, unended
        if len(head) > MAX_LINE_BYTES:
            head, too_long = b"", True
    return None, unended


def filtered_query(
    query: str, *, year: str | None = None, journal: str | None = None, pubtype: str | None = None
) -> str:
    """The query a search with ``--year``/``--journal``/``--type`` filters ran, written in
    the query language, so that ``#N`` stands for the same records."""
    parts = [f"({query})"]
    if year is not None:
        parts.append(f"year:{year.strip()}")
    for prefix, value in (("journal", journal), ("type", pubtype)):
        if value is not None:
            parts.append(f'{prefix}:"{value.strip().replace(chr(34), " ")}"')
    return query if len(parts) == 1 else " AND ".join(parts)


class History:
    """The numbered searches of the index at ``index_dir``."""

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.path = Path(index_dir) / HISTORY_FILE

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[bytes]]:
        try:
            handle = self.path.open(mode)
        except OSError as exc:
            raise HistoryError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        with handle, holding(handle):
            yield handle

    def entries(self) -> list[Entry]:
        """The searches, oldest first (none when the file does not exist)."""
        if not self.path.exists():
            return []
        try:
            with self.path.open("rb") as handle, holding(handle):
                return list(_read(handle))
        except OSError as exc:
            raise HistoryError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def queries(self) -> dict[int, str]:
        """Search number → query, what ``#N`` refers to."""
        return {e.number: e.query for e in self.entries()}

    def append(self, query: str, count: int) -> Entry:
        """Record a search; its number is one more than the last readable one's."""
        with self._locked("a+b") as handle:
            last, unended = _last(handle)
            entry = Entry(last.number + 1 if last is not None else 1, query, count, _now())
            line = json.dumps(entry.to_dict(), ensure_ascii=False) + "\n"
            try:
                # Opened for appending: every write goes to the end of the file.
                handle.write((b"\n" if unended else b"") + line.encode("utf-8"))
                handle.flush()
            except OSError as exc:
                raise HistoryError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            return entry

    def clear(self) -> int:
        """Forget every search (numbering starts again at 1); how many there were."""
        if not self.path.exists():
            return 0
        with self._locked("r+b") as handle:
            count = sum(1 for _ in _read(handle))
            try:
                handle.seek(0)
                handle.truncate()
            except OSError as exc:
                raise HistoryError(f"cannot clear {self.path}: {exc.strerror or exc}") from None
            return count


def format_text(entries: list[Entry]) -> str:
    """One line per search: number, count, time, query."""
    width = max(len(str(e.count)) for e in entries)
    return "\n".join(f"#{e.number:<4} {e.count:>{width}}  {e.time}  {e.query}" for e in entries)


def copy_history(source_dir: Path, target_dir: Path) -> None:
    """Carry the history over to a rebuilt index."""
    source = source_dir / HISTORY_FILE
    if source.exists():
        shutil.copyfile(source, target_dir / HISTORY_FILE)
