"""Segment merges: which segments a commit merges, and reading them for the fast writer.

Whoosh merges a segment into the writer's new one through ``SegmentWriter.add_reader``:
its stored fields and lengths a document at a time, then every posting as a tuple
through the writer's posting pool (sorted, spilled to disk and merged back one by one)
and ``add_postings`` (a Python call per posting). On a large index that path was most
of an ingest's time. Here the stored fields still go through Whoosh's
``write_per_doc``, but the postings are read a block at a time
(:func:`segment_term_groups`: each term's document numbers and weights as arrays, its
positions undecoded), renumbered in one step with deleted documents dropped, and
written by the fast writer's term-at-a-time path
(:func:`searchkit.engine.term_writer.write_postings`): the bytes Whoosh's own merge
writes for the same postings.

Which segments a commit merges is :func:`tiered_merge`'s choice (a log-structured
policy, as Lucene's): segments are grouped in tiers by their live document count
(each tier ``merge_factor`` times larger than the one below), and a tier is merged
once it holds ``merge_factor`` segments, so that each document is rewritten about
once per tier, never on every commit, and the segment count stays below
``merge_factor`` per tier. A merge never makes a segment larger than
``merge_max_docs``; ``optimize`` (Whoosh's ``OPTIMIZE``) still merges everything.

Tiers count live documents only, so a segment that stops growing (above half of
``merge_max_docs``, or in a tier that never fills) would keep the dead copies of the
records replaced or deleted since it was written forever. As Lucene's
TieredMergePolicy does (``deletesPctAllowed``), a segment whose share of deleted
documents exceeds ``merge_deletes_pct`` is rewritten at the next commit, with the
tier merged then if any (the commit's segments all go into its one new segment), its
deleted documents dropped: after a commit no segment holds more than that share of
deleted documents, but one that did not fit within ``merge_max_docs`` beside the
commit's other merges (it waits for a later commit), and each commit rewrites at
most ``merge_max_docs`` records for them (or one larger segment, alone).
"""

from __future__ import annotations

import io
import math
import struct
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate, compress
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo, W3TermsReader
from whoosh.reading import SegmentReader

from searchkit.engine.blockzlib import inflate
from searchkit.engine.bulkpostings import TermGroup
from searchkit.engine.codec import PackedValues, block_numbers
from searchkit.engine.lexicon import segment_entries
from searchkit.engine.mapped import MappedFile, MappedFileStorage
from searchkit.engine.safepickle import load, loads
from searchkit.params import Params

#: A merge gives back the mapped pages of the segment it reads after each this many
#: bytes of postings: a term's postings are mostly read a few hundred bytes at a time,
#: below what a read gives back itself (``mapped.RELEASE_MIN``), and the kernel maps
#: up to 64 KB around each page read, so the pages read stayed resident: most of the
#: 1.26 GB peak of ``optimize`` on a 1,000,000-record index.
RELEASE_EVERY = 16 * 1024 * 1024

Ints = NDArray[np.int64]
#: The signed length before each posting block (negative: the term's last block).
_BLOCK_SIZE = struct.Struct("!i")
#: Where a term's postings are (offset and length in the postings file), after the
#: fixed fields of its term info (``W3TermInfo._struct``: flags, weight, document
#: frequency, length codes, max weight, first and last id).
_EXTENT = struct.Struct("!qi")
_EXTENT_AT = struct.calcsize("!BfIBBfII")
#: A Whoosh merge policy: given the writer and the index's segments, it adds those it
#: merges to the writer (``add_reader``) and returns the others.
MergeType = Callable[[Any, list[Any]], list[Any]]


def tier(docs: int, params: Params) -> int:
    """The tier of a segment of ``docs`` live documents: 0 below
    ``merge_floor_docs``, then one more for each ``merge_factor`` times as many."""
    if docs < params.merge_floor_docs:
        return 0
    return 1 + int(math.log(docs / params.merge_floor_docs, params.merge_factor) + 1e-9)


def too_deleted(live: int, deleted: int, params: Params) -> bool:
    """Whether a segment of ``live`` live and ``deleted`` deleted documents holds more
    than ``merge_deletes_pct`` percent of deleted ones (and is to be rewritten)."""
    return live > 0 and deleted * 100 > params.merge_deletes_pct * (live + deleted)


def choose_merge(
    sizes: Sequence[int], params: Params, deleted: Sequence[int] | None = None
) -> list[int]:
    """Which of the segments of ``sizes`` live documents (and ``deleted`` deleted ones,
    none if not given) one commit merges (indexes, smallest first): segments without
    live documents, always (dropped unread); then, from the lowest tier up, a tier
    holding ``merge_factor`` segments (counting the segment the merge makes so far,
    when it falls in that tier), with every segment of the tiers below it, as long as
    the merged segment stays within ``merge_max_docs``; then every segment with too
    many deleted documents (:func:`too_deleted`), the largest share first, as long as
    the merged segment stays within ``merge_max_docs`` (one larger than that alone
    when nothing else is merged). Nothing else (an empty list: no merge)."""
    factor, limit = params.merge_factor, params.merge_max_docs
    empty = [i for i, n in enumerate(sizes) if n <= 0]
    by_tier: dict[int, list[int]] = {}
    for i in sorted(range(len(sizes)), key=lambda i: (sizes[i], i)):
        if 0 < sizes[i] <= limit // 2:  # larger ones could not grow by a merge
            by_tier.setdefault(tier(sizes[i], params), []).append(i)
    chosen: list[int] = []
    total = 0
    below: list[int] = []  # segments of lower tiers not merged (yet)
    for level in sorted(by_tier):
        members = by_tier[level]
        carried = 1 if chosen and tier(total, params) == level else 0
        if len(members) + carried < factor:
            below.extend(members)
            continue
        fits: list[int] = []
        for i in sorted(below + members, key=lambda i: (sizes[i], i)):
            if total + sizes[i] > limit:
                break
            fits.append(i)
            total += sizes[i]
        if len(fits) + (1 if chosen else 0) < 2:
            break
        chosen.extend(fits)
        below = []
    if deleted is not None:
        taken = set(chosen)
        dead = [
            i for i, n in enumerate(sizes) if i not in taken and too_deleted(n, deleted[i], params)
        ]
        for i in sorted(dead, key=lambda i: (-deleted[i] / (sizes[i] + deleted[i]), i)):
            if total + sizes[i] <= limit or not chosen:
                chosen.append(i)
                total += sizes[i]
    return empty + sorted(chosen, key=lambda i: (sizes[i], i)) if chosen else empty


def tiered_merge(params: Params) -> MergeType:
    """The merge policy of :func:`choose_merge`, as a Whoosh ``mergetype``."""

    def merge(writer: Any, segments: list[Any]) -> list[Any]:
        sizes = [seg.doc_count() for seg in segments]
        deleted = [seg.deleted_count() for seg in segments]
        chosen = set(choose_merge(sizes, params, deleted))
        kept: list[Any] = []
        for i, seg in enumerate(segments):
            if i not in chosen:
                kept.append(seg)
            elif seg.doc_count() > 0:  # a segment of deleted documents only is dropped
                reader = SegmentReader(writer.storage, writer.schema, seg)
                writer.add_reader(reader)  # closes the reader on failure (checksums)
                reader.close()
        return kept

    return merge


def readable_in_bulk(reader: Any) -> bool:
    """Whether :func:`segment_term_groups` can read ``reader``'s postings."""
    return isinstance(reader, SegmentReader) and isinstance(reader._terms, W3TermsReader)


def new_numbers(reader: SegmentReader, startdoc: int, docmap: dict[int, int] | None) -> Ints:
    """Each document's number in the merged segment, -1 for a deleted one (``docmap``:
    what Whoosh's ``write_per_doc`` numbered them; ``None``: no deletions, numbered
    from ``startdoc`` in order)."""
    count = reader.doc_count_all()
    if docmap is None:
        return np.arange(startdoc, startdoc + count, dtype=np.int64)
    numbers = np.full(count, -1, dtype=np.int64)
    if docmap:
        old = np.fromiter(docmap.keys(), dtype=np.int64, count=len(docmap))
        numbers[old] = np.fromiter(docmap.values(), dtype=np.int64, count=len(docmap))
    return numbers


def segment_term_groups(reader: SegmentReader, schema: Any, numbers: Ints) -> Iterator[TermGroup]:
    """Every posting of ``reader``'s segment in (field, term) order, a term at a time,
    renumbered by ``numbers`` (:func:`new_numbers`; deleted documents and terms left
    without documents dropped); fields not in ``schema`` are skipped, as Whoosh's merge
    skips them."""
    terms = reader._terms
    codec, postfile = terms._codec, terms._postfile
    renumber = not (len(numbers) and numbers[0] >= 0 and bool(np.all(np.diff(numbers) == 1)))
    offset = int(numbers[0]) if len(numbers) else 0
    # Most terms are rare: one small block each, read and renumbered in plain Python
    # (numpy's cost per call would be most of their time).
    new_of: list[int] | None = numbers.tolist() if renumber else None
    unreleased = 0  # bytes of postings read since the segment's pages were given back
    for fieldname, tbytes, infobytes in segment_entries(terms):
        if unreleased >= RELEASE_EVERY and isinstance(postfile, MappedFile):
            postfile.release_all()
            unreleased = 0
        if fieldname not in schema:
            continue
        fmt = schema[fieldname].format
        values: Sequence[bytes]
        if infobytes[0]:  # the flag of codecs that inline short posting lists
            info = W3TermInfo.from_bytes(infobytes)
            matcher = codec.postings_reader(postfile, info, fmt, term=(fieldname, tbytes))
            ids, weights, values = _read_matcher(matcher)
        else:
            start, length = _EXTENT.unpack_from(infobytes, _EXTENT_AT)
            unreleased += length
            small = _read_blocks(postfile, start, length, fmt.fixed_value_size())
            if isinstance(small, _Small):
                group = _small_group(small, new_of, offset)
                if group is not None:
                    yield fieldname, tbytes, *group
                continue
            ids, weights, values = small
        if renumber:
            new = numbers[ids]
            keep = new >= 0
            if not keep.all():
                if not keep.any():
                    continue
                if len(values) != len(keep):
                    raise ValueError("a term's posting values do not match its ids")
                new, weights = new[keep], weights[keep]
                if isinstance(values, PackedValues):
                    values = values.kept(keep)
                else:
                    values = [v for v, k in zip(values, keep.tolist(), strict=True) if k]
        else:
            new = ids + offset
        docs: array[int] = array("I")
        docs.frombytes(new.astype(np.uint32).tobytes())
        kept: array[float] = array("f")
        kept.frombytes(weights.astype(np.float32).tobytes())
        yield fieldname, tbytes, docs, kept, values


class _Small(NamedTuple):
    """The postings of a term of one small block (Whoosh's tuples, fewer than
    ``PACK_MIN`` postings), as Python lists."""

    ids: list[int]
    weights: list[float]
    values: list[bytes]


def _small_group(
    small: _Small, new_of: list[int] | None, offset: int
) -> tuple[array[int], array[float], list[bytes]] | None:
    """A small term's documents renumbered (``new_of``: each document's new number, -1
    for a deleted one; ``None``: shifted by ``offset``), its weights and values, the
    deleted documents' postings dropped; ``None`` when none is left."""
    ids, weights, values = small
    if new_of is None:
        new = [i + offset for i in ids]
    else:
        new = [new_of[i] for i in ids]
        if min(new) < 0:
            if len(values) != len(new):
                raise ValueError("a posting block's values do not match its ids")
            keep = [n >= 0 for n in new]
            if not any(keep):
                return None
            new = list(compress(new, keep))
            weights = list(compress(weights, keep))
            values = list(compress(values, keep))
    return array("I", new), array("f", weights), values


def _read_blocks(
    postfile: Any, start: int, length: int, fixedsize: int | None
) -> tuple[Ints, Any, Sequence[bytes]] | _Small:
    """A term's postings, its blocks read with one read and decoded as
    ``W3LeafMatcher`` does (``_goto``, ``_read_data``; it reads each block's header with
    several small reads): ids, weights (float32, as stored) and each posting's value
    (``b""`` for formats storing none); a :class:`_Small` for a term of one small
    block."""
    blob = postfile.get(start, length)
    if blob[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"no posting list at {start}")
    stream = io.BytesIO(blob)
    pos = len(WHOOSH3_HEADER_MAGIC)
    id_blocks: list[Ints] = []
    weight_blocks: list[Any] = []
    values: list[bytes] = []
    blocks: list[Sequence[bytes]] = []  # each block's values, when they vary in size
    last = False
    while not last:
        (size,) = _BLOCK_SIZE.unpack_from(blob, pos)
        last = size < 0
        following = pos + _BLOCK_SIZE.size + abs(size)
        stream.seek(pos + _BLOCK_SIZE.size)
        count, _, _, compression, _, _ = load(stream)  # the block's info tuple
        data = blob[stream.tell() : following]
        deltas, weights, vs = loads(inflate(data) if compression else data)
        if last and not id_blocks and isinstance(deltas, tuple):
            return _small(count, deltas, weights, vs, fixedsize)
        id_blocks.append(block_numbers(deltas, weights))
        if weights is None:
            weight_blocks.append(np.ones(count, dtype=np.float32))
        elif isinstance(weights, float):
            weight_blocks.append(np.full(count, weights, dtype=np.float32))
        else:
            weight_blocks.append(np.asarray(weights, dtype=np.float32))
        if fixedsize is None or fixedsize < 0:
            blocks.append(vs)
        else:
            values.extend(_listed_values(vs, count, fixedsize))
        pos = following
    ids, weights = np.concatenate(id_blocks), np.concatenate(weight_blocks)
    if blocks:  # the values of several blocks kept together, not a bytes object each
        return ids, weights, PackedValues.joined(blocks)
    return ids, weights, values


def _small(
    count: int, deltas: tuple[int, ...], weights: Any, vs: Any, fixedsize: int | None
) -> _Small:
    """A small block's postings as lists, as :func:`_read_blocks` decodes blocks."""
    if weights is None:
        floats = [1.0] * count
    elif isinstance(weights, float):
        floats = [weights] * count
    else:
        floats = list(weights)
    return _Small(list(accumulate(deltas)), floats, _listed_values(vs, count, fixedsize))


def _listed_values(vs: Any, count: int, fixedsize: int | None) -> list[bytes]:
    """A block's stored values as one ``bytes`` per posting (``b""`` for formats
    storing none, a slice each of a fixed size's joined bytes)."""
    if fixedsize is None or fixedsize < 0:
        return list(vs)
    if fixedsize == 0:
        return [b""] * count
    return [vs[i : i + fixedsize] for i in range(0, len(vs), fixedsize)]


def _read_matcher(matcher: Any) -> tuple[Ints, Any, list[bytes]]:
    """A term's postings through the matcher interface, a posting at a time."""
    ids: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        value = matcher.value()
        values.append(b"" if value is None else value)
        matcher.next()
    return (
        np.array(ids, dtype=np.int64),
        np.array(weights, dtype=np.float32),
        values,
    )


class MergeSources:
    """The segments merged into a writer's new segment: their postings are read (in
    bulk) when the writer writes its own, so each keeps a reader open until then."""

    def __init__(self) -> None:
        self._readers: list[SegmentReader] = []
        self._numbers: list[Ints] = []

    def __bool__(self) -> bool:
        return bool(self._readers)

    def add(
        self,
        storage: Any,
        schema: Any,
        segment: Any,
        startdoc: int,
        docmap: dict[int, int] | None,
    ) -> None:
        """Merge ``segment``, its documents already written from ``startdoc`` on (their
        numbers given by ``docmap`` when some are deleted)."""
        # Read in place from a memory map (searchkit.engine.mapped): the writer's own
        # storage reads a compound segment through small locked reads, several per
        # term (most of a merge's time). The map goes with the reader at the flush.
        folder = getattr(storage, "folder", None)
        if isinstance(folder, str):
            storage = MappedFileStorage(folder, readonly=True)
        reader = SegmentReader(storage, schema, segment)
        self._readers.append(reader)
        self._numbers.append(new_numbers(reader, startdoc, docmap))

    def groups(self, schema: Any) -> list[Iterator[TermGroup]]:
        """Each merged segment's term groups, in the order they were added (which is
        document order)."""
        return [
            segment_term_groups(reader, schema, numbers)
            for reader, numbers in zip(self._readers, self._numbers, strict=True)
        ]

    def close(self) -> None:
        readers, self._readers, self._numbers = self._readers, [], []
        for reader in readers:
            reader.close()


__all__ = [
    "MergeSources",
    "MergeType",
    "choose_merge",
    "new_numbers",
    "readable_in_bulk",
    "segment_term_groups",
    "tier",
    "tiered_merge",
    "too_deleted",
]
