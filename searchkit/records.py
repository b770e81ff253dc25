"""The record model shared by every reader, the index and the output formats (what a
reader yields besides records is in :mod:`searchkit.items`).

Missing values are ``None`` (scalars) or empty tuples (lists), never ``""``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Author:
    """An author. ``name`` is PubMed's short form ("Smith JA"), ``full_name`` the
    long one ("Smith, John A") when the source gives it; a collective author
    ("Cancer Genome Atlas Network") has only ``name`` and ``collective`` set.
    ``affiliations`` are the author's institutions as the source gives them."""

    name: str
    full_name: str | None = None
    affiliations: tuple[str, ...] = ()
    collective: bool = False


@dataclass(frozen=True, slots=True)
class MeshHeading:
    """A MeSH descriptor name; ``major`` is True when the descriptor or one of its
    qualifiers is flagged as a major topic. ``major_qualifiers`` are the qualifiers
    flagged themselves; when none is, a major heading makes all its heading/qualifier
    pairs major (see :meth:`pair_is_major`)."""

    name: str
    major: bool = False
    qualifiers: tuple[str, ...] = ()
    major_qualifiers: tuple[str, ...] = ()

    def pair_is_major(self, qualifier: str) -> bool:
        """Whether "name/qualifier" is a major topic."""
        if self.major_qualifiers:
            return qualifier in self.major_qualifiers
        return self.major


@dataclass(frozen=True, slots=True)
class Record:
    """One citation. ``pmid`` is the record id: a PubMed id, or an id given by the
    source when it is not PubMed (a BEIR ``_id``).

    Dates are ISO text as precise as the source: ``pub_date`` "2014", "2014-09" or
    "2014-09-23" (a range such as "2014 Sep-Oct" keeps its first month, a season
    only its year); the PubMed history dates ``entrez_date`` (EDAT, PubStatus
    "pubmed"), ``create_date`` (CRDT, PubStatus "entrez") and ``mesh_date`` (MHDA,
    PubStatus "medline") are "YYYY-MM-DD". ``volume``, ``issue`` and ``pages``
    ("343-55", PubMed's MedlinePgn) cite the article in its journal; ``issns`` are
    the journal's ISSNs (print, electronic, linking; no duplicates). A book or book
    chapter (PubMed's ``PubmedBookArticle``) has ``book_title`` (a chapter's book, or
    the book's own title), ``publisher`` and ``publisher_location``; a chapter's book
    is also its ``journal``, where a search by journal finds it."""

    pmid: str
    title: str | None = None
    abstract: str | None = None
    keywords: tuple[str, ...] = ()
    mesh: tuple[MeshHeading, ...] = ()
    authors: tuple[Author, ...] = ()
    journal: str | None = None
    journal_abbrev: str | None = None
    year: int | None = None
    pub_date: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    publication_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    issns: tuple[str, ...] = ()
    entrez_date: str | None = None
    create_date: str | None = None
    mesh_date: str | None = None
    book_title: str | None = None
    publisher: str | None = None
    publisher_location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Build a record from :meth:`to_dict` output (or any dict with these keys).

        Unknown keys raise ``ValueError``; empty strings become ``None``.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        if not data.get("pmid"):
            raise ValueError("record has no pmid")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "authors":
                values[key] = tuple(_author(a) for a in value or ())
            elif key == "mesh":
                values[key] = tuple(
                    MeshHeading(
                        name=m["name"],
                        major=bool(m.get("major", False)),
                        qualifiers=tuple(m.get("qualifiers", ())),
                        major_qualifiers=tuple(m.get("major_qualifiers", ())),
                    )
                    if isinstance(m, dict)
                    else MeshHeading(str(m))
                    for m in value or ()
                )
            elif key in ("keywords", "publication_types", "languages", "issns"):
                values[key] = tuple(str(v) for v in value or ())
            elif key == "year":
                values[key] = int(value) if value not in (None, "") else None
            elif key == "pmid":
                values[key] = str(value)
            else:
                values[key] = value if value != "" else None
        return cls(**values)


def _author(value: Any) -> Author:
    if not isinstance(value, dict):
        return Author(str(value))
    data = dict(value)
    affiliations = data.get("affiliations") or ()
    if isinstance(affiliations, str):
        affiliations = (affiliations,)
    data["affiliations"] = tuple(str(a) for a in affiliations)
    data["collective"] = bool(data.get("collective", False))
    return Author(**data)


__all__ = ["Author", "MeshHeading", "Record"]
