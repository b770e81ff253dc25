"""What a reader yields: a :class:`~searchkit.records.Record`, a :class:`Deletion` or a
:class:`Skipped`.

Apart from :mod:`searchkit.records` because only reading and ingesting use them: a
search, which builds records from the index, does not create these classes (a frozen
dataclass costs a process start about half a millisecond).
"""

from __future__ import annotations

from dataclasses import dataclass

from searchkit.records import Record


@dataclass(frozen=True, slots=True)
class Deletion:
    """A record to remove from the index (PubMed ``DeleteCitation``)."""

    pmid: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record a reader could not use, with where it was and why."""

    source: str
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}, {self.location}: {self.reason}"


Item = Record | Deletion | Skipped

__all__ = ["Deletion", "Item", "Skipped"]
