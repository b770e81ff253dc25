"""Search strategies: a file of numbered searches, as in a systematic review's appendix.

A strategy file holds one query per line. Searches are numbered 1, 2, 3 … in the
order of their lines, and ``#N`` in a line stands for search N of the file (as one
parenthesised group), so PubMed-style lines such as ``#1 OR #2`` and ``#3 AND #4``
work. Blank lines, and lines whose first character (after spaces) is ``#`` not
followed by a digit (``# comment``), are skipped. A line may start with its number,
``3. query``, which must then be the number the line gets, or be labelled as a
review's appendix or PubMed's history labels searches, ``#3 query``. A search refers
only to earlier ones, whose numbers are smaller, so a leading ``#N`` above the number
of the search before it is the line's label and its number (``#3 #1 AND #2``), and
any other ``#N`` a reference. Labels may skip numbers, as PubMed's history does when
searches are left out of a strategy (``#3``, ``#7``, ``#9 #3 AND #7``); a line
without a label is numbered one after the line before it. The last search is the
strategy's result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from searchkit.errors import IndexVersionError, QueryError, SearchkitError
from searchkit.index.searchindex import SearchIndex
from searchkit.plural import plural
from searchkit.searching.backend import Backend, LocalBackend
from searchkit.searching.search import SearchResult
from searchkit.version import __version__

#: The order of the final set's records: newest first (cheap for any size of set).
FINAL_SORT = "date"

_COMMENT = re.compile(r"^\s*#(?!\d)")
_NUMBERED = re.compile(r"^(\s*(\d{1,9})\.\s+)")
_LABEL = re.compile(r"^(\s*#(\d{1,9})\s+)")


class StrategyError(SearchkitError):
    """A strategy file that cannot be read, or a line of it that does not parse."""

    exit_code = 2


@dataclass(frozen=True)
class Line:
    """One search of a strategy: its number, the file's line number, the query and
    where the query starts on the line (0-based)."""

    number: int
    line_no: int
    query: str
    column: int = 0


@dataclass(frozen=True)
class Step:
    """A search that was run: its line and how many records it found."""

    line: Line
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.line.number,
            "line": self.line.line_no,
            "query": self.line.query,
            "count": self.count,
        }


@dataclass(frozen=True)
class StrategyRun:
    """What a run of a strategy did: when, on which index, each search's count, and
    the records of the last search (newest first)."""

    source: str
    index_path: str  # a directory or a collection address
    index_records: int
    started: str
    steps: list[Step] = field(default_factory=list)
    final: SearchResult | None = None

    def report(self) -> str:
        """The report a PRISMA-S appendix needs, as text."""
        width = max(len(str(s.count)) for s in self.steps)
        lines = [
            f"Search strategy: {self.source}",
            f"Run: {self.started} (searchkit {__version__})",
            f"Index: {self.index_path} ({plural(self.index_records, 'record')})",
            "",
            *(f"#{s.line.number:<4} {s.count:>{width}}  {s.line.query}" for s in self.steps),
            "",
            f"Final set: #{self.steps[-1].line.number}, {plural(self.steps[-1].count, 'record')}",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.source,
            "run": self.started,
            "searchkit": __version__,
            "index": str(self.index_path),
            "index_records": self.index_records,
            "searches": [s.to_dict() for s in self.steps],
        }


def parse_strategy(text: str, source: str) -> list[Line]:
    """The searches of a strategy file's text; ``source`` names the file in errors."""
    lines: list[Line] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or _COMMENT.match(raw):
            continue
        number = lines[-1].number + 1 if lines else 1
        column = 0
        numbered = _NUMBERED.match(raw)
        if numbered:
            if int(numbered.group(2)) != number:
                raise StrategyError(
                    f"{source}, line {line_no}: numbered {numbered.group(2)}, but it is "
                    f"search {number} (searches are numbered in the order of their lines)"
                )
            column = len(numbered.group(1))
        labelled = _LABEL.match(raw)
        if labelled and not numbered and int(labelled.group(2)) >= number:
            number = int(labelled.group(2))
            column = len(labelled.group(1))
        query = raw[column:]
        lines.append(Line(number, line_no, query, column))
    if not lines:
        raise StrategyError(f"{source}: no searches in the file (one query per line)")
    return lines


def read_strategy(path: Path) -> list[Line]:
    """The searches of the strategy file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StrategyError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise StrategyError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return parse_strategy(text, str(path))


def run_strategy(
    index: SearchIndex | Backend, lines: list[Line], source: str, *, with_snippets: bool = True
) -> StrategyRun:
    """Run every search of a strategy in order on ``index`` (a local index, or any
    backend: a Solr collection); the run's ``final`` holds every record of the last
    search, best first. A line that does not parse raises :class:`StrategyError` naming
    the line and the position on it."""
    backend = LocalBackend(index) if isinstance(index, SearchIndex) else index
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    refs: dict[int, str] = {}
    steps: list[Step] = []
    final: SearchResult | None = None

    def run(query: str, limit: int, sort: str, snippets: bool) -> SearchResult:
        return backend.search(
            query, limit=limit, offset=0, filters=None, sort=sort, with_snippets=snippets,
            expand=False, semantic_rank=None, refs=refs, partial=True, meaning=None,
        )  # fmt: skip

    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        try:
            result = run(line.query, 0, "relevance", False)
            if last and result.total:
                result = run(line.query, result.total, FINAL_SORT, with_snippets)
        except QueryError as exc:
            where = (
                "" if exc.position is None else f" (at position {exc.position + line.column + 1})"
            )
            raise StrategyError(f"{source}, line {line.line_no}: {exc.reason}{where}") from None
        except IndexVersionError as exc:  # a field this index predates ([pmcid])
            raise IndexVersionError(f"{source}, line {line.line_no}: {exc}") from None
        steps.append(Step(line, result.total))
        refs[line.number] = line.query
        final = result
    return StrategyRun(source, backend.location, backend.record_count(), started, steps, final)
