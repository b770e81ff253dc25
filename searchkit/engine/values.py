"""A term's encoded positions in one segment, kept undecoded: one ``bytes`` and where
each posting's values start and end, joined from the term's blocks when first asked
for, or not kept at all and read again for the documents asked for (a long list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from searchkit.engine import sets
from searchkit.engine.codec import CompressedValues, PackedValues
from searchkit.engine.sets import Ints

#: Offsets into a blob of values: 32-bit where they fit.
Offsets = NDArray[np.uint32] | NDArray[np.int64]

#: Values not kept are kept from this lookup of their positions on: a long-running
#: process (a benchmark, an eval, a server) that keeps asking for a common word's
#: positions keeps them in its cache, as it did before; one search asks at most
#: twice (the proximity bonus, then the second stage).
KEEP_VALUES_AFTER_LOOKUPS = 3


class Values:
    """Each posting's encoded positions, undecoded: one ``bytes`` holding them all and
    where each starts and ends (a few objects, however many postings).

    Read from consecutive blocks, the values follow one another: ``starts`` and
    ``ends`` are two views of one array of boundaries (``n + 1`` offsets), in 32 bits
    when the bytes allow (a quarter of two separate 64-bit arrays). Made by
    :meth:`later` from a term's blocks, they are joined only when first asked for:
    many terms are read for their documents and frequencies alone. Made by
    :meth:`reread` (a long posting list), they are not kept at all, only where each
    block is: :meth:`select` reads again the blocks holding the postings it is asked
    for (a few documents' positions for the proximity bonus and the second stage
    would otherwise keep a common word's positions in memory, the largest part of a
    search's on a large index)."""

    __slots__ = (
        "_value_blob",
        "_value_blocks",
        "_value_ends",
        "_value_firsts",
        "_value_lookups",
        "_value_mask",
        "_value_nbytes",
        "_value_spans",
        "_value_starts",
    )

    def __init__(self, blob: bytes, starts: Offsets, ends: Offsets) -> None:
        self._value_blob = blob
        self._value_starts = starts
        self._value_ends = ends
        self._value_blocks: list[Any] | None = None
        self._value_spans: list[tuple[int, int]] | None = None
        #: Where each block's postings begin among the term's (one more: the count).
        self._value_firsts: Ints | None = None
        self._value_mask: NDArray[np.bool_] | None = None
        #: How many times :meth:`select` was asked for values not kept.
        self._value_lookups = 0
        if starts.base is not None and starts.base is ends.base:
            self._value_nbytes = len(blob) + starts.base.nbytes  # one array of boundaries
        else:
            self._value_nbytes = len(blob) + starts.nbytes + ends.nbytes

    @classmethod
    def later(cls, blocks: list[Any], count: int) -> Values:
        """:meth:`join` of ``blocks`` (``count`` values in all), done when first used;
        :attr:`nbytes` is what the joined values will take."""
        values = cls(b"", sets.NO_IDS, sets.NO_IDS)
        values._value_blocks = blocks
        blob_size = sum(map(_blob_length, blocks))
        values._value_nbytes = blob_size + (count + 1) * _offset_size(blob_size)
        return values

    @classmethod
    def chain(cls, parts: list[Values]) -> Values | None:
        """The values of ``parts`` one after the other, as one (each segment's values
        of a term, in the order of the joined postings): their blocks, not joined
        yet, in one list, and which of their postings are live; None unless every
        part still holds its blocks (none joined, none read again)."""
        if not parts or any(p._value_blocks is None or p._value_spans is not None for p in parts):
            return None
        blocks: list[Any] = []
        for p in parts:
            assert p._value_blocks is not None
            blocks.extend(p._value_blocks)
        chained = cls.later(blocks, 0)
        if any(p._value_mask is not None for p in parts):
            chained._value_mask = np.concatenate(
                [
                    np.ones(int(p._firsts()[-1]), dtype=np.bool_)
                    if p._value_mask is None
                    else p._value_mask
                    for p in parts
                ]
            )
        chained._value_nbytes = sum(p.nbytes for p in parts)
        return chained

    @classmethod
    def reread(cls, spans: list[tuple[int, int]], counts: list[int]) -> Values:
        """Values not kept: the blocks at ``spans`` of the postings file (as
        :func:`~searchkit.engine.blockread.read_term` gives them), of ``counts``
        postings each, read again by :meth:`select`."""
        values = cls(b"", sets.NO_IDS, sets.NO_IDS)
        values._value_spans = spans
        values._value_firsts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        values._value_nbytes = 16 * (len(spans) + 1)
        return values

    @property
    def blob(self) -> bytes:
        self._joined()
        return self._value_blob

    @property
    def starts(self) -> Offsets:
        self._joined()
        return self._value_starts

    @property
    def ends(self) -> Offsets:
        self._joined()
        return self._value_ends

    def _joined(self) -> None:
        if self._value_spans is not None:
            raise ValueError("these values are read again by select(), never whole")
        if self._value_blocks is not None:
            self._join()

    def _join(self) -> None:
        assert self._value_blocks is not None
        joined = Values.join(self._value_blocks)
        self._value_blob = joined.blob
        self._value_starts, self._value_ends = joined.starts, joined.ends
        if self._value_mask is not None:
            self._value_starts = self._value_starts[self._value_mask]
            self._value_ends = self._value_ends[self._value_mask]
        self._value_blocks = self._value_mask = None

    def select(
        self, chosen: sets.Positions, reread: Callable[[list[tuple[int, int]]], list[Any]]
    ) -> tuple[bytes, Offsets, Offsets]:
        """The values of the postings at ``chosen`` (ascending indexes): a blob and
        each one's start and end in it. Values kept in blocks are joined whole when
        at least half of the blocks hold some of ``chosen`` (and stay joined), else
        only those blocks are; values not kept are read again, only the blocks
        holding ``chosen``, with ``reread`` (the postings file's
        :func:`~searchkit.engine.blockread.read_values`)."""
        blocks, spans = self._value_blocks, self._value_spans
        if blocks is None and spans is None:
            return self._value_blob, self._value_starts[chosen], self._value_ends[chosen]
        wanted, which, needed = self._blocks_of(chosen)
        firsts = self._firsts()
        if blocks is not None:
            if 2 * len(needed) >= len(blocks):
                self._join()
                return self._value_blob, self._value_starts[chosen], self._value_ends[chosen]
            part = [blocks[i] for i in needed.tolist()]
        else:
            assert spans is not None
            part = reread([spans[i] for i in needed.tolist()])
        joined = Values.join(part)
        sizes = firsts[needed + 1] - firsts[needed]
        part_firsts = np.concatenate(([0], np.cumsum(sizes)))
        local = wanted - firsts[which] + part_firsts[np.searchsorted(needed, which)]
        return joined._value_blob, joined._value_starts[local], joined._value_ends[local]

    @property
    def rereads(self) -> bool:
        """Whether these values are not kept (read again by :meth:`select`)."""
        return self._value_spans is not None

    def rereads_most(self, chosen: sets.Positions) -> bool:
        """Whether these values are not kept and are worth reading whole and keeping:
        ``chosen`` falls in at least half of their blocks (reading them whole is then
        about as cheap), or they were looked up ``KEEP_VALUES_AFTER_LOOKUPS`` times."""
        spans = self._value_spans
        if spans is None:
            return False
        self._value_lookups += 1
        if self._value_lookups >= KEEP_VALUES_AFTER_LOOKUPS:
            return True
        return 2 * len(self._blocks_of(chosen)[2]) >= len(spans)

    def _blocks_of(self, chosen: sets.Positions) -> tuple[Ints, Ints, Ints]:
        """For the postings at ``chosen``: their indexes among the term's postings as
        stored (deleted ones included), the block holding each, and those blocks
        (ascending, once each)."""
        wanted = chosen if self._value_mask is None else np.flatnonzero(self._value_mask)[chosen]
        which = np.searchsorted(self._firsts(), wanted, side="right") - 1
        return wanted, which, sets.distinct(which)

    def whole(self, reread: Callable[[list[tuple[int, int]]], list[Any]]) -> Values:
        """Values not kept, read again whole (every block), joined."""
        assert self._value_spans is not None
        values = Values.later(reread(self._value_spans), 0)
        values._value_mask = self._value_mask
        values._join()
        return values

    def _firsts(self) -> Ints:
        found = self._value_firsts
        if found is None:
            assert self._value_blocks is not None
            counts = [len(block) for block in self._value_blocks]
            found = self._value_firsts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        return found

    @classmethod
    def join(cls, blocks: list[Any]) -> Values:
        """The values of consecutive blocks: :class:`~searchkit.engine.codec.CompressedValues`
        (decompressed here), :class:`~searchkit.engine.codec.PackedValues`, or tuples of
        ``bytes`` (small blocks, blocks written by Whoosh's own writer)."""
        lengths = [len(block) for block in blocks]
        blob_sizes = [_blob_length(block) for block in blocks]
        count = sum(lengths) + 1
        bounds: Offsets = (
            np.zeros(count, dtype=np.uint32)
            if _offset_size(sum(blob_sizes)) == 4
            else np.zeros(count, dtype=np.int64)
        )
        at = total = 0
        blobs: list[bytes | memoryview] = []
        for block, n, size in zip(blocks, lengths, blob_sizes, strict=True):
            if isinstance(block, CompressedValues):
                if not block.is_packed:  # its lengths summed straight into ``bounds``
                    blobs.append(block.ends_into(bounds[at + 1 : at + 1 + n], total))
                    at += n
                    total += size
                    continue
                block = block.inflated()
            if isinstance(block, PackedValues):
                blob = block.blob
                block_ends = np.frombuffer(block.ends, dtype=np.uint32)
            else:
                blob = b"".join(block)
                block_ends = np.cumsum(np.fromiter(map(len, block), np.int64, n))
            blobs.append(blob)
            np.add(block_ends.astype(bounds.dtype), total, out=bounds[at + 1 : at + 1 + n])
            at += n
            total += size
        return cls(b"".join(blobs), bounds[:-1], bounds[1:])

    def keep(self, mask: NDArray[np.bool_]) -> Values:
        """Only the values where ``mask`` is true."""
        if self._value_spans is not None:
            kept = Values.reread(self._value_spans, [])
            kept._value_firsts = self._value_firsts
            kept._value_lookups = self._value_lookups
            kept._value_mask = mask if self._value_mask is None else _masked(self._value_mask, mask)
            return kept
        if self._value_blocks is not None and self._value_mask is None:
            kept = Values.later(self._value_blocks, 0)
            kept._value_mask = mask
            blob_size = sum(map(_blob_length, self._value_blocks))
            n_kept = int(np.count_nonzero(mask))
            # As joined, then cut: two arrays of the kept offsets.
            kept._value_nbytes = blob_size + 2 * n_kept * _offset_size(blob_size)
            return kept
        return Values(self.blob, self.starts[mask], self.ends[mask])

    @property
    def nbytes(self) -> int:
        """The bytes the joined values take (the same before they are joined); for
        values not kept, those of where their blocks are."""
        return self._value_nbytes


def _masked(first: NDArray[np.bool_], then: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The mask of keeping ``first``, then ``then`` of what is left."""
    out = first.copy()
    out[np.flatnonzero(first)[~then]] = False
    return out


def _blob_length(block: Any) -> int:
    if isinstance(block, CompressedValues):
        return block.size
    return len(block.blob) if isinstance(block, PackedValues) else sum(map(len, block))


def _offset_size(blob_size: int) -> int:
    """Bytes per offset into a blob of ``blob_size`` bytes: 32 bits where they fit."""
    return 4 if blob_size < 2**32 else 8


__all__ = ["KEEP_VALUES_AFTER_LOOKUPS", "Offsets", "Values"]
