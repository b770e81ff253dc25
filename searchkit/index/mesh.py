"""MeSH headings as ``[mh]``, ``[majr]`` and ``[sh]`` search them: whole headings,
heading/qualifier pairs and qualifiers, each indexed as one normalized term.

A heading is compared as :func:`normalize` makes it (case, accents and punctuation
ignored: "Carcinoma, Non-Small-Cell Lung" is ``carcinoma non small cell lung``), a pair
as ``heading/qualifier``. Qualifiers may be written as NLM's two-letter abbreviations
(``/su`` for ``/surgery``, listed in ``data/mesh_qualifiers.txt``). With a MeSH tree
loaded (:mod:`searchkit.index.meshtree`), ``[mh]`` and ``[majr]`` also match every narrower
heading; ``:noexp`` tags never do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from whoosh import query as wq
from whoosh.query import Query

from searchkit.errors import QueryError
from searchkit.index.meshnames import normalize
from searchkit.index.schema import LIST_SEPARATOR
from searchkit.packaged import packaged_text
from searchkit.plural import plural
from searchkit.records import MeshHeading

if TYPE_CHECKING:  # the tree and the headings by word: loaded when a query needs them
    from searchkit.index.meshtree import MeshTree
    from searchkit.index.meshwords import MeshWords

#: Index fields: every heading and heading/qualifier pair; the major ones; qualifiers.
HEADING_FIELD = "mesh_heading"
MAJOR_FIELD = "mesh_major_heading"
QUALIFIER_FIELD = "mesh_qualifier"

#: Query keys (from the parser's tag table) handled here.
KEYS = frozenset({"mesh", "mesh_noexp", "majr", "majr_noexp", "subheading"})
#: Keys that explode to narrower headings when a tree is loaded.
EXPLODING = frozenset({"mesh", "majr"})
_TAG_NAMES = {
    "mesh": "mh",
    "mesh_noexp": "mh:noexp",
    "majr": "majr",
    "majr_noexp": "majr:noexp",
    "subheading": "sh",
}

NO_TREE_NOTE = (
    "no MeSH tree is loaded, so [mh] and [majr] matched the headings themselves, not "
    "their narrower headings (load NLM's descriptor file once: searchkit mesh load "
    "desc2025.xml)"
)


@cache
def qualifier_abbreviations() -> dict[str, str]:
    """NLM's qualifier abbreviations (lower case) → the normalized qualifier name."""
    text = packaged_text("mesh_qualifiers.txt")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, abbreviation = line.split("\t")
            table[abbreviation.strip().lower()] = normalize(name)
    return table


def qualifier_key(text: str) -> str:
    """A qualifier as indexed: its normalized name, abbreviations expanded."""
    key = normalize(text)
    return qualifier_abbreviations().get(key, key)


def index_fields(mesh: Sequence[MeshHeading]) -> dict[str, str]:
    """The MeSH index fields of a record (only those with a value): normalized terms
    joined by the list separator, each term indexed whole."""
    headings: list[str] = []
    major: list[str] = []
    qualifiers: list[str] = []
    for heading in mesh:
        key = normalize(heading.name)
        if not key:
            continue
        headings.append(key)
        if heading.major:
            major.append(key)
        for qualifier in heading.qualifiers:
            qkey = normalize(qualifier)
            if not qkey:
                continue
            pair = f"{key}/{qkey}"
            headings.append(pair)
            qualifiers.append(qkey)
            if heading.pair_is_major(qualifier):
                major.append(pair)
    fields = {HEADING_FIELD: headings, MAJOR_FIELD: major, QUALIFIER_FIELD: qualifiers}
    return {
        name: LIST_SEPARATOR.join(dict.fromkeys(terms)) for name, terms in fields.items() if terms
    }


@dataclass
class MeshContext:
    """What MeSH queries are compiled with: the tree (``load_tree`` is called the first
    time a MeSH term needs it; None: no tree), and what the compilation has to say:
    ``notes`` for the user (each once), ``explained`` for ``--explain``."""

    load_tree: Callable[[], MeshTree | None] | None = None
    notes: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    #: (the term as written with its tag, the field, the terms it looks for).
    lookups: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    _tree: MeshTree | None = field(default=None, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)

    @property
    def tree(self) -> MeshTree | None:
        if not self._loaded:
            self._tree = self.load_tree() if self.load_tree is not None else None
            self._loaded = True
        return self._tree

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class MeshTerms(wq.Or):
    """Alternative whole-heading terms (an explosion) that print as a short label."""

    def __init__(
        self,
        subqueries: Sequence[Query],
        boost: float = 1.0,
        minmatch: int = 0,
        scale: float | None = None,
        label: str | None = None,
    ) -> None:
        super().__init__(list(subqueries), boost=boost, minmatch=minmatch, scale=scale)
        self.label = label

    def __str__(self) -> str:
        return self.label or super().__str__()

    def __eq__(self, other: Any) -> bool:
        return super().__eq__(other) and getattr(other, "label", None) == self.label

    def __hash__(self) -> int:
        return super().__hash__()


def _no_words(text: str, pos: int) -> QueryError:
    return QueryError(f"'{text}' has no searchable words (only stop words or punctuation)", pos)


def split_pair(text: str) -> tuple[str, str | None]:
    """``heading/qualifier`` → (heading, qualifier); a heading alone → (heading, None)."""
    head, slash, qualifier = text.rpartition("/")
    if not slash:
        return text, None
    return head, qualifier


def mesh_terms(key: str, text: str, pos: int, context: MeshContext) -> tuple[str, list[str]]:
    """The index field and the whole terms ``text`` tagged with a MeSH ``key`` (see
    :data:`KEYS`) looks for: one, or (exploded by the context's tree) the heading and
    every narrower one. Any index that holds :func:`index_fields` searches with them."""
    tag = f"{text}[{_TAG_NAMES[key]}]"
    if key == "subheading":
        alone = qualifier_key(text)
        if not alone:
            raise _no_words(text, pos)
        context.lookups.append((tag, QUALIFIER_FIELD, (alone,)))
        return QUALIFIER_FIELD, [alone]
    head, qualifier_text = split_pair(text)
    heading = normalize(head)
    qualifier = qualifier_key(qualifier_text) if qualifier_text is not None else None
    if not heading or qualifier == "":
        raise QueryError(f"'{text}' is not a MeSH heading or heading/qualifier", pos)
    headings = _headings(key, head, heading, tag, context)
    fieldname = MAJOR_FIELD if key.startswith("majr") else HEADING_FIELD
    terms = [f"{h}/{qualifier}" if qualifier else h for h in headings]
    context.lookups.append((tag, fieldname, tuple(terms)))
    return fieldname, terms


def mesh_query(key: str, text: str, pos: int, context: MeshContext) -> Query:
    """The query for ``text`` tagged with a MeSH ``key`` (see :data:`KEYS`)."""
    fieldname, terms = mesh_terms(key, text, pos, context)
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0])
    label = f"{fieldname}:({terms[0]} and {len(terms) - 1} narrower)"
    return MeshTerms([wq.Term(fieldname, t) for t in terms], label=label)


def _headings(key: str, written: str, heading: str, tag: str, context: MeshContext) -> list[str]:
    """The normalized headings ``heading`` stands for: itself, or the descriptor it
    names (by heading or entry term) and, exploded, every narrower one."""
    explode = key in EXPLODING
    tree = context.tree
    if tree is None:
        if explode:
            context.note(NO_TREE_NOTE)
            context.explained.append(f"{tag} is not exploded: no MeSH tree is loaded")
        return [heading]
    descriptor = tree.find(written)
    if descriptor is None:
        context.explained.append(f"{tag}: not in the loaded MeSH tree; matched as written")
        return [heading]
    if descriptor.key != heading:
        context.explained.append(f"{tag}: an entry term of {descriptor.name}")
    if not explode:
        return [descriptor.key]
    below = tree.narrower(descriptor)
    names = [d.key for d in (descriptor, *below)]
    context.explained.append(
        f"{tag} explodes to {plural(len(names), 'heading')}: {descriptor.name} and "
        f"{len(below)} narrower"
    )
    return list(dict.fromkeys(names))


def prefix_term(key: str, prefix: str) -> tuple[str, str]:
    """``lung*[mh]``: the field and the start of every heading (or qualifier, for
    ``[sh]``) it matches. A prefix ending in punctuation or a space keeps the space
    it becomes (``T-Lymphocytes, *``: the headings that go on after "T-Lymphocytes",
    not that heading itself)."""
    fieldname = {"subheading": QUALIFIER_FIELD}.get(
        key, MAJOR_FIELD if key.startswith("majr") else HEADING_FIELD
    )
    start = normalize(prefix)
    if start and prefix and not prefix[-1].isalnum():
        start += " "
    return fieldname, start


def mesh_prefix(key: str, prefix: str) -> Query:
    """``lung*[mh]``: every heading (or qualifier, for ``[sh]``) starting with ``prefix``."""
    return wq.Prefix(*prefix_term(key, prefix))


#: How many headings a note on a MeSH term that matched nothing suggests.
SUGGESTED_HEADINGS = 5


def unmatched_notes(
    reader: Any, context: MeshContext, headings: Callable[[], MeshWords] | None = None
) -> list[str]:
    """A note for each MeSH term of the query that no record in ``reader`` has, naming
    indexed headings that contain its words (MeSH terms match whole headings, so a
    word of one, ``psoas[mh]``, finds nothing). ``headings``: gives the index's headings
    by word (:func:`searchkit.index.meshwords.load`), called only when a note needs
    them; None reads them from ``reader``'s segments."""
    notes: list[str] = []
    by_word: MeshWords | None = None
    for tag, fieldname, terms in context.lookups:
        if any(reader.doc_frequency(fieldname, t) for t in terms):
            continue
        if fieldname == QUALIFIER_FIELD:
            heading, qualifier = "", terms[0]
        else:  # a normalized heading has no "/"
            heading, _, qualifier = terms[0].partition("/")
        if qualifier and qualifier not in qualifier_abbreviations().values():
            notes.append(f"{tag}: '{qualifier}' is not a MeSH qualifier or its abbreviation")
            continue
        if not heading or reader.doc_frequency(HEADING_FIELD, heading):
            notes.append(f"{tag} matches no record")
            continue
        if by_word is None:
            if headings is not None:
                by_word = headings()
            else:
                from searchkit.index.meshwords import MeshWords

                by_word = MeshWords.from_reader(reader)
        similar = by_word.containing(heading.split(), SUGGESTED_HEADINGS)
        hint = f"; headings with these words: {', '.join(similar)}" if similar else ""
        notes.append(f"{tag} is not a MeSH heading of any record (headings match whole){hint}")
    return notes
