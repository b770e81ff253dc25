"""The search history of an index, numbered as in PubMed's Advanced Search.

Every ``searchkit search`` appends one line (number, query, count, time) to
``history.jsonl`` in the index directory, and ``#N`` in a later query stands for
search N. Reading, appending and clearing hold an exclusive lock on the file, so
concurrent searches get distinct numbers and never interleave their lines; a line
that cannot be read (a process killed mid-write) is passed over.
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


def _parse(line: str) -> Entry | None:
    try:
        data = json.loads(line)
        return Entry(int(data["number"]), str(data["query"]), int(data["count"]), str(data["time"]))
    except (ValueError, KeyError, TypeError):
        return None


def _read(handle: IO[str]) -> list[Entry]:
    handle.seek(0)
    return [entry for line in handle if (entry := _parse(line)) is not None]


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
    def _locked(self, mode: str) -> Iterator[IO[str]]:
        try:
            handle = self.path.open(mode, encoding="utf-8")
        except OSError as exc:
            raise HistoryError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        with handle, holding(handle):
            yield handle

    def entries(self) -> list[Entry]:
        """The searches, oldest first (none when the file does not exist)."""
        if not self.path.exists():
            return []
        try:
            with self.path.open(encoding="utf-8") as handle, holding(handle):
                return _read(handle)
        except OSError as exc:
            raise HistoryError(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def queries(self) -> dict[int, str]:
        """Search number → query, what ``#N`` refers to."""
        return {e.number: e.query for e in self.entries()}

    def append(self, query: str, count: int) -> Entry:
        """Record a search; its number is one more than the last one's."""
        with self._locked("a+") as handle:
            entries = _read(handle)
            entry = Entry(entries[-1].number + 1 if entries else 1, query, count, _now())
            line = json.dumps(entry.to_dict(), ensure_ascii=False) + "\n"
            try:
                handle.seek(0, os.SEEK_END)
                handle.write(line)
                handle.flush()
            except OSError as exc:
                raise HistoryError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            return entry

    def clear(self) -> int:
        """Forget every search (numbering starts again at 1); how many there were."""
        if not self.path.exists():
            return 0
        with self._locked("r+") as handle:
            count = len(_read(handle))
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
