"""Every Whoosh internal the engine relies on: what breaks when Whoosh changes.

searchkit reads and writes Whoosh's segments faster than Whoosh's public API allows
(:mod:`searchkit.engine.codec`, :mod:`~searchkit.engine.postings`,
:mod:`~searchkit.engine.term_writer`, :mod:`~searchkit.engine.segment_writer`,
:mod:`~searchkit.engine.field_indexers`), and
hardens how Whoosh stores an index (:mod:`~searchkit.engine.safepickle`,
:mod:`~searchkit.engine.checksums`, :mod:`~searchkit.engine.storage`,
:mod:`~searchkit.engine.fileindex`). Doing so it relies on names that are no part of
Whoosh's public API: :data:`PRIVATE_NAMES` lists each of them, checked against
whoosh-reloaded :data:`WHOOSH_VERSION` (what ``pyproject.toml`` pins).

The table holds

* every name imported from a Whoosh implementation module (:data:`INTERNAL_MODULES`:
  the ``whoosh3`` codec, the multi-process writer, byte packing) or that a Whoosh
  module defines without documenting it (``TOC``, ``clean_files``, ``SegmentWriter``,
  ``PostingPool``);
* every private (``_``) method the engine overrides or calls, and every private
  instance attribute it reads or writes, on Whoosh's objects or on ``self`` in a
  subclass of a Whoosh class;
* a few undocumented public-looking attributes whose state the engine writes or
  replaces (the terms hash writer's buffers, the writer's posting pool);
* every module global or class attribute of Whoosh that searchkit rebinds;
* Whoosh's on-disk layouts the engine reproduces or reads without Whoosh's code, and
  the Whoosh method bodies it copies.

Every other Whoosh name the engine imports is public: :data:`PUBLIC_NAMES`.
``tests/test_whoosh_internals.py`` pins the version and resolves every entry on the
installed Whoosh (each instance attribute on a live object of a small real index or
writer). It also scans the engine's source (imports, underscore names on Whoosh's
objects and on ``self`` in subclasses of Whoosh's classes, assignments to Whoosh's
modules and classes) and compares Whoosh's module globals and class attributes in
a process running searchkit with a process running Whoosh alone, so that a new
internal cannot be used without an entry here. The public-looking attributes were
listed by reading the code: the scan cannot tell a new one from an API.

On a Whoosh upgrade: re-read each entry's Whoosh code (the engine's overrides copy
parts of Whoosh's own bodies, and the layouts must stay byte for byte the same), run
the engine's tests, then change :data:`WHOOSH_VERSION` with the pin.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: The whoosh-reloaded release every entry of :data:`PRIVATE_NAMES` was checked
#: against (``pyproject.toml`` pins the same).
WHOOSH_VERSION = "2.7.5"

#: Whoosh modules that are implementation, not API: anything the engine imports from
#: one of them is listed in :data:`PRIVATE_NAMES`.
INTERNAL_MODULES: frozenset[str] = frozenset(
    {
        "whoosh.codec.whoosh3",
        "whoosh.codec.plaintext",
        "whoosh.multiproc",
        "whoosh.system",
        "whoosh.util.numeric",
        "whoosh.filedb.compound",
        "whoosh.filedb.filetables",
        "whoosh.externalsort",
        "whoosh.legacy",
    }
)


class Kind(enum.Enum):
    """How the engine relies on a Whoosh internal."""

    IMPORTED = "imported internal class, function or constant"
    OVERRIDDEN = "private method overridden"
    CALLED = "private method called"
    READ = "instance attribute read"
    WRITTEN = "instance attribute written (and read)"
    PATCHED = "module global or class attribute rebound"
    MIRRORED = "on-disk layout, naming or method body reproduced"


@dataclass(frozen=True)
class PrivateName:
    """One Whoosh internal and why the engine needs it."""

    #: The Whoosh module that defines it (for an attribute: its class's module).
    module: str
    #: ``Name`` or ``Class.attribute`` (an instance attribute set by the class).
    name: str
    kind: Kind
    #: The modules of :mod:`searchkit.engine` relying on it (by their last name), or
    #: :data:`WHOOSH_IMPORTS`, the one module outside the engine that rebinds Whoosh's
    #: globals (it must act before any layer imports Whoosh).
    used_by: tuple[str, ...]
    why: str

    @property
    def attribute(self) -> str:
        """The last part of :attr:`name`: what the engine's code writes."""
        return self.name.rpartition(".")[2]

    @property
    def owner(self) -> str | None:
        """The class part of ``Class.attribute``; ``None`` for a module-level name."""
        owner, dot, _ = self.name.rpartition(".")
        return owner if dot else None


#: :mod:`searchkit.whoosh_imports`, as :attr:`PrivateName.used_by` names it.
WHOOSH_IMPORTS = "searchkit.whoosh_imports"

_W3 = "whoosh.codec.whoosh3"
_WRITING = "whoosh.writing"
_MP = "whoosh.multiproc"
_K = Kind

#: Every Whoosh internal :mod:`searchkit.engine` relies on.
PRIVATE_NAMES: tuple[PrivateName, ...] = (
    # -- the whoosh3 codec: blocks written and read without Whoosh's per-posting path --
    PrivateName(_W3, "W3Codec", _K.IMPORTED, ("codec",), "SearchkitCodec subclasses it"),
    PrivateName(_W3, "W3Codec._blocklimit", _K.READ, ("codec",), "handed to the writer"),
    PrivateName(_W3, "W3Codec._compression", _K.READ, ("codec",), "handed to the writer"),
    PrivateName(_W3, "W3Codec._inlinelimit", _K.READ, ("codec",), "handed to the writer"),
    PrivateName(
        _W3, "W3PostingsWriter", _K.IMPORTED, ("codec",), "PackedPostingsWriter subclasses it"
    ),
    PrivateName(
        _W3,
        "W3PostingsWriter._write_block",
        _K.OVERRIDDEN,
        ("codec",),
        "writes searchkit's blocks (DeltaIds, arrays, Lz4Values; protocol 5)",
    ),
    PrivateName(
        _W3,
        "W3PostingsWriter._write_block",
        _K.CALLED,
        ("term_writer",),
        "writes full blocks filled directly (codecs other than searchkit's)",
    ),
    PrivateName(
        _W3, "W3PostingsWriter._new_block", _K.CALLED, ("codec",), "resets the block buffer"
    ),
    *(
        PrivateName(_W3, f"W3PostingsWriter.{attr}", _K.READ, users, why)
        for attr, users, why in (
            ("_byteids", ("codec", "term_writer"), "term vectors (byte ids) left to Whoosh"),
            ("_postfile", ("codec",), "the postings file a block is written to"),
            ("_terminfo", ("codec",), "the term's statistics, updated per block"),
            ("_format", ("codec",), "the field format's fixed value size"),
            ("_compression", ("codec", "term_writer"), "the block zlib level"),
            ("_blocklimit", ("term_writer",), "postings per block"),
            ("_inlinelimit", ("term_writer",), "inlined posting lists left to Whoosh"),
        )
    ),
    PrivateName(
        _W3,
        "W3PostingsWriter._blockcount",
        _K.WRITTEN,
        ("codec",),
        "the first block writes the header magic; counted as Whoosh does",
    ),
    *(
        PrivateName(_W3, f"W3PostingsWriter.{attr}", _K.WRITTEN, ("codec", "term_writer"), why)
        for attr, why in (
            ("_ids", "the block's document numbers (filled a block at a time)"),
            ("_weights", "the block's weights"),
            ("_values", "the block's encoded positions"),
            ("_minlength", "the block's shortest field length"),
            ("_maxlength", "the block's longest field length"),
            ("_maxweight", "the block's largest weight"),
        )
    ),
    PrivateName(
        _W3,
        "WHOOSH3_HEADER_MAGIC",
        _K.IMPORTED,
        ("codec", "term_writer", "merging", "blockread"),
        "the bytes before a term's first block",
    ),
    PrivateName(
        _W3,
        "W3TermInfo",
        _K.IMPORTED,
        ("term_writer", "merging"),
        "a term's statistics, built a term at a time (decoded by a merge when inlined)",
    ),
    *(
        PrivateName(_W3, f"W3TermInfo.{attr}", _K.WRITTEN, ("term_writer",), why)
        for attr, why in (
            ("_weight", "summed as W3TermInfo.add_block sums it"),
            ("_df", "summed as add_block does"),
            ("_minlength", "as add_block keeps it"),
            ("_maxlength", "as add_block keeps it"),
            ("_maxweight", "as add_block keeps it"),
            ("_minid", "as add_block keeps it"),
            ("_maxid", "as add_block keeps it"),
        )
    ),
    *(
        PrivateName(_W3, f"W3FieldWriter.{attr}", _K.READ, ("term_writer",), why)
        for attr, why in (
            ("_postwriter", "the postings writer whose blocks are reproduced"),
            ("_postfile", "the postings file, written a term at a time"),
            ("_tindex", "the terms hash file, appended to directly"),
            ("_fieldid", "the field's number, the terms' key prefix"),
        )
    ),
    PrivateName(
        _W3,
        "W3FieldWriter.add_postings",
        _K.PATCHED,
        ("segment_writer",),
        "rebound on the writer's instance to read lengths once per field",
    ),
    *(
        PrivateName("whoosh.filedb.filetables", f"OrderedHashWriter.{attr}", _K.WRITTEN, u, why)
        for attr, u, why in (
            ("dbfile", ("term_writer",), "the terms file, written without tell() per term"),
            ("index", ("term_writer",), "the key positions OrderedHashWriter.add appends"),
            ("buckets", ("term_writer",), "the hash buckets add fills"),
            ("hashfn", ("term_writer",), "the hash of a term key"),
            ("lastkey", ("term_writer",), "keys must increase, as add checks"),
        )
    ),
    PrivateName(
        "whoosh.filedb.filetables",
        "_lengths",
        _K.MIRRORED,
        ("term_writer", "lexicon"),
        "the key and value lengths before each entry of a hash file (_TERM_LENGTHS)",
    ),
    PrivateName(
        "whoosh.filedb.filetables",
        "md5_hash",
        _K.IMPORTED,
        ("term_writer",),
        "the terms file's hash function, computed from the digest when it is this one",
    ),
    PrivateName(
        "whoosh.filedb.filetables",
        "md5_hash",
        _K.MIRRORED,
        ("term_writer",),
        "the low 32 bits of a key's MD5 (_md5_low32)",
    ),
    PrivateName(
        _W3,
        "W3TermInfo.to_bytes",
        _K.MIRRORED,
        ("term_writer", "lexicon"),
        "a term's statistics and postings extent packed as one struct (_TERM_INFO); the"
        " total weight is the float after the flags byte (lexicon)",
    ),
    PrivateName(
        _W3,
        "W3LeafMatcher",
        _K.IMPORTED,
        ("postings",),
        "its blocks are read whole into arrays",
    ),
    PrivateName(_W3, "W3LeafMatcher._goto", _K.CALLED, ("postings",), "moves to the next block"),
    PrivateName(
        "whoosh.query.ranges",
        "TermRange._btexts",
        _K.CALLED,
        ("ranges",),
        "the terms of a range in a segment's lexicon, as Whoosh's matcher lists them",
    ),
    PrivateName(
        _W3, "W3LeafMatcher._read_data", _K.CALLED, ("postings",), "decodes the block's data"
    ),
    *(
        PrivateName(_W3, f"W3LeafMatcher.{attr}", _K.READ, ("postings",), why)
        for attr, why in (
            ("_data", "the block's (ids, weights, values)"),
            ("_lastblock", "whether this is the term's last block"),
            ("_nextoffset", "where the next block starts"),
            ("_byteids", "term vectors' ids are not delta-coded"),
            ("_blocklength", "postings in the block (weights stored as one value)"),
            ("_postfile", "the mapped postings file whose pages are given back once read"),
            ("_startoffset", "where the term's postings start (end: _nextoffset)"),
        )
    ),
    PrivateName(
        _W3,
        "LENGTHS_COLUMN",
        _K.IMPORTED,
        ("postings", "term_writer", "perdoc_copy"),
        "the column type of the per-document field lengths",
    ),
    PrivateName(
        _W3,
        "_lenfield",
        _K.MIRRORED,
        ("postings", "checksums", "perdoc_copy"),
        "a field's lengths column is named _<field>_len (read whole, checksummed)",
    ),
    PrivateName(
        _W3,
        "W3PerDocReader._cached_reader",
        _K.CALLED,
        ("postings", "term_writer"),
        "the open lengths column of a field",
    ),
    # -- segment merges: a merged segment's postings read a term at a time --
    PrivateName(
        _W3,
        "W3TermsReader",
        _K.IMPORTED,
        ("merging", "lexicon", "postings", "idlookup"),
        "a segment whose terms and posting blocks can be read directly",
    ),
    PrivateName(
        "whoosh.reading",
        "SegmentReader._terms",
        _K.READ,
        ("merging", "lexicon", "postings", "idlookup"),
        "the terms reader whose (term, term info) pairs a merge (or a field's terms) walks",
    ),
    *(
        PrivateName(_W3, f"W3TermsReader.{attr}", _K.READ, users, why)
        for attr, users, why in (
            ("_fieldmap", ("lexicon", "idlookup"), "a field's number, its terms' key prefix"),
            ("_fieldunmap", ("lexicon",), "the field of a key's number (a merge reads all)"),
            (
                "_tindex",
                ("lexicon", "idlookup"),
                "the terms hash file: a field's (or all) entries read in bulk, an id probed",
            ),
        )
    ),
    *(
        PrivateName("whoosh.filedb.filetables", f"OrderedHashReader.{attr}", u, (user,), why)
        for attr, u, user, why in (
            ("closest_key_pos", _K.CALLED, "lexicon", "where a field's first entry is"),
            ("endofdata", _K.READ, "lexicon", "where the last entry ends"),
            ("startofdata", _K.READ, "lexicon", "where the first entry starts"),
            ("dbfile", _K.READ, "lexicon", "the terms file, its entries read in chunks"),
            ("_get_pos", _K.READ, "idlookup", "reads a key's place from the sorted array"),
            ("indexbase", _K.READ, "idlookup", "where the sorted key-position array starts"),
            ("indexlen", _K.READ, "idlookup", "how many keys the array holds"),
            ("indexsize", _K.READ, "idlookup", "bytes per position in the array"),
            ("key_at", _K.CALLED, "idlookup", "the key at a place (an id field's first, last)"),
        )
    ),
    PrivateName(
        _W3,
        "W3TermsReader._keycoder",
        _K.MIRRORED,
        ("lexicon",),
        "a term's key is its field's number (2 bytes) then the term",
    ),
    *(
        PrivateName(_W3, f"W3TermsReader.{attr}", _K.READ, modules, why)
        for attr, modules, why in (
            (
                "_codec",
                ("merging",),
                "makes each term's posting matcher, as W3TermsReader.matcher does",
            ),
            (
                "_postfile",
                ("merging", "postings"),
                "the postings file the matchers read (a term's extent read at once)",
            ),
        )
    ),
    PrivateName(
        _W3,
        "W3PerDocWriter._fieldlengths",
        _K.WRITTEN,
        ("segment_writer", "perdoc_copy"),
        "a merged segment's field length totals set exact instead of summed one-byte lengths",
    ),
    PrivateName(
        "whoosh.reading",
        "SegmentReader._perdoc",
        _K.READ,
        ("postings", "segment_writer", "perdoc_copy"),
        "the per-document reader holding the lengths columns",
    ),
    *(
        PrivateName(
            "whoosh.columns",
            f"FixedBytesColumn.Reader.{attr}",
            _K.READ,
            ("postings", "term_writer", "perdoc_copy"),
            w,
        )
        for attr, w in (
            ("_dbfile", "the file a lengths column is read from in one read"),
            ("_basepos", "where the column starts"),
            ("_count", "how many documents it holds"),
        )
    ),
    # -- segment merges: a merged segment's documents copied as stored (perdoc_copy) --
    *(
        PrivateName(_W3, name, _K.IMPORTED, ("perdoc_copy",), why)
        for name, why in (
            ("STORED_COLUMN", "the stored fields' column type (pickles, compressed)"),
            ("W3PerDocReader", "the per-document reader whose columns are copied"),
            ("W3PerDocWriter", "the per-document writer whose column writers take them"),
        )
    ),
    *(
        PrivateName(_W3, f"W3PerDocWriter.{name}", _K.CALLED, users, why)
        for name, users, why in (
            (
                "_has_column",
                ("perdoc_copy",),
                "whether a column is made yet (as add_column_value asks)",
            ),
            ("_create_column", ("perdoc_copy",), "makes a column when Whoosh's path would make it"),
            (
                "_get_column",
                ("perdoc_copy", "codec"),
                "the column writer a column's values are copied into; the stored fields' one",
            ),
        )
    ),
    PrivateName(
        _W3,
        "W3PerDocWriter._doccount",
        _K.WRITTEN,
        ("perdoc_copy",),
        "the documents written, advanced as start_doc advances it",
    ),
    *(
        PrivateName("whoosh.columns", f"FixedBytesColumn.Reader.{attr}", _K.READ, u, w)
        for attr, u, w in (
            ("_fixedlen", ("perdoc_copy",), "the size of a value"),
            ("_defaultbytes", ("perdoc_copy",), "the value of documents left out at the end"),
        )
    ),
    PrivateName(
        "whoosh.columns",
        "NumericColumn.Reader._typecode",
        _K.READ,
        ("perdoc_copy",),
        "only integer columns are copied as bytes (a float -0.0 is the default 0.0)",
    ),
    *(
        PrivateName("whoosh.columns", f"VarBytesColumn.Reader.{attr}", _K.READ, users, w)
        for attr, users, w in (
            (
                "_dbfile",
                ("perdoc_copy", "keycolumn"),
                "the file the values are read from, a run of documents at a time",
            ),
            ("_basepos", ("perdoc_copy", "keycolumn"), "where the column starts"),
            ("_length", ("perdoc_copy",), "the column's size, checked against its lengths"),
            ("_lengths", ("perdoc_copy", "keycolumn"), "each document's value length"),
            ("_offsets", ("perdoc_copy", "keycolumn"), "each document's value offset"),
            (
                "had_stored_offsets",
                ("perdoc_copy",),
                "whether the offsets are stored after the lengths",
            ),
        )
    ),
    *(
        PrivateName("whoosh.columns", f"VarBytesColumn.Writer.{attr}", kind, ("perdoc_copy",), w)
        for attr, kind, w in (
            ("_dbfile", _K.READ, "the column file the values are appended to"),
            ("_lengths", _K.WRITTEN, "extended by the copied values' lengths"),
            ("_offsets", _K.WRITTEN, "extended by their offsets"),
            ("_offset_base", _K.WRITTEN, "where the next value goes"),
            ("_count", _K.WRITTEN, "the documents written (as add counts them)"),
        )
    ),
    *(
        PrivateName("whoosh.columns", f"NumericColumn.Writer.{attr}", kind, ("perdoc_copy",), w)
        for attr, kind, w in (
            ("_dbfile", _K.READ, "the column file the values are appended to"),
            ("_defaultbytes", _K.READ, "the default value add leaves out"),
            ("_count", _K.WRITTEN, "the documents written (as add counts them)"),
        )
    ),
    PrivateName(
        "whoosh.columns",
        "WrappedColumnReader._child",
        _K.READ,
        ("perdoc_copy",),
        "the compressed bytes under the stored fields' pickles",
    ),
    PrivateName(
        _W3,
        "W3PerDocReader.stored_fields",
        _K.MIRRORED,
        ("perdoc_copy", "codec"),
        "the stored fields are the column named _stored, pickled dicts compressed",
    ),
    *(
        PrivateName(module, name, _K.MIRRORED, ("perdoc_copy",), why)
        for module, name, why in (
            (
                _WRITING,
                "SegmentWriter.write_per_doc",
                "what it writes for each merged document is reproduced a column at a time",
            ),
            (
                _W3,
                "W3PerDocWriter.add_field",
                "a length is written (and its column made) only when it is not 0",
            ),
            (
                "whoosh.columns",
                "VarBytesColumn.Writer.finish",
                "the values, the lengths, the offsets past 32,768 documents, the type codes",
            ),
            (
                "whoosh.columns",
                "FixedBytesColumn.Writer.add",
                "default values left out, written by fill before a later value",
            ),
        )
    ),
    PrivateName(
        "whoosh.columns",
        "WrappedColumnWriter._child",
        _K.READ,
        ("perdoc_copy", "codec"),
        "the compressed bytes writer under the stored fields' pickle writer",
    ),
    PrivateName(
        "whoosh.columns",
        "CompressedBytesColumn.Writer._compress",
        _K.WRITTEN,
        ("codec",),
        "the stored fields compressed by ISA-L's deflate instead of zlib.compress",
    ),
    PrivateName(
        "whoosh.filedb.structfile",
        "StructFile._name",
        _K.READ,
        ("postings", "mapped"),
        "the part name whose checksum verify_part checks; a mapped part keeps its name",
    ),
    PrivateName(
        _W3,
        "W3LeafMatcher._goto",
        _K.MIRRORED,
        ("merging",),
        "a term's posting blocks (signed length, info pickle, data) walked in one read",
    ),
    PrivateName(
        "whoosh.formats",
        "Positions.encode",
        _K.MIRRORED,
        ("postings",),
        "a 4-byte count and a pickled list of deltas, decoded without Whoosh",
    ),
    PrivateName(
        "whoosh.util.numeric",
        "length_to_byte",
        _K.IMPORTED,
        ("codec", "term_writer"),
        "a block head's field lengths, coded as Whoosh codes them",
    ),
    PrivateName(
        "whoosh.util.numeric",
        "byte_to_length",
        _K.IMPORTED,
        ("postings", "term_writer", "perdoc_copy"),
        "decodes a whole lengths column at once",
    ),
    PrivateName("whoosh.system", "pack_int", _K.IMPORTED, ("term_writer",), "block sizes"),
    PrivateName(
        "whoosh.system",
        "pack_uint",
        _K.IMPORTED,
        ("field_indexers",),
        "a Frequency field's posting value (the count), packed as Whoosh packs it",
    ),
    PrivateName(
        "whoosh.system",
        "pack_ushort",
        _K.IMPORTED,
        ("term_writer", "lexicon", "idlookup"),
        "field ids",
    ),
    PrivateName(
        "whoosh.scoring",
        "BM25F._field_B",
        _K.READ,
        ("scoring",),
        "per-field B, to score a plain Term exactly as Whoosh's BM25F does",
    ),
    # -- the writer: Whoosh's SegmentWriter with a fast analysis and bulk postings --
    PrivateName(
        _WRITING,
        "SegmentWriter",
        _K.IMPORTED,
        ("segment_writer", "checksums"),
        "subclassed; its add_reader (segment merges) is hooked",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter.add_reader",
        _K.PATCHED,
        ("checksums",),
        "a segment is verified in full before a merge reads it",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter.add_document",
        _K.MIRRORED,
        ("segment_writer",),
        "FastSegmentWriter.add_document is a copy with the fast path added",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter._flush_segment",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "a copy writing the term store's postings a block at a time",
    ),
    *(
        PrivateName(_WRITING, f"SegmentWriter.{name}", _K.CALLED, ("segment_writer",), why)
        for name, why in (
            ("_check_state", "as add_document does"),
            ("_doc_boost", "as add_document does"),
            ("_check_fields", "as add_document does"),
            ("_field_boost", "as add_document does"),
        )
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter.write_per_doc",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "calls Whoosh's, then sets the merged segment's exact field length totals",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter._finish",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "also closes the readers of the segments being merged (commit or cancel)",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter.add_postings_to_pool",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "a merged segment's postings are read at the flush, a term at a time, not pooled",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter._tempstorage",
        _K.READ,
        ("segment_writer",),
        "where the term store and the pool spill their runs",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter._added",
        _K.WRITTEN,
        ("segment_writer",),
        "set as add_document sets it (something to commit)",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter.pool",
        _K.WRITTEN,
        ("segment_writer",),
        "replaced by a pool spilling chunked runs",
    ),
    PrivateName(_WRITING, "PostingPool", _K.IMPORTED, ("segment_writer",), "subclassed"),
    PrivateName(
        "whoosh.externalsort",
        "SortingPool._write_run",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "runs spilled as pickled chunks, not one pickle per posting",
    ),
    PrivateName(
        "whoosh.externalsort",
        "SortingPool._read_run",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "reads the chunked runs back",
    ),
    PrivateName(
        "whoosh.externalsort",
        "SortingPool._open_run",
        _K.CALLED,
        ("segment_writer",),
        "opens a run file",
    ),
    PrivateName(
        "whoosh.externalsort",
        "SortingPool._remove_run",
        _K.CALLED,
        ("segment_writer",),
        "removes a run file once read",
    ),
    PrivateName(_MP, "MpWriter", _K.IMPORTED, ("segment_writer",), "FastMpWriter subclasses it"),
    PrivateName(
        _MP,
        "MpWriter._new_task",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "starts FastSegmentWriter sub-processes (gc frozen around the fork)",
    ),
    PrivateName(
        _WRITING,
        "SegmentWriter._commit_toc",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "FastMpWriter commits only when every writer process ended normally",
    ),
    PrivateName(
        _MP,
        "MpWriter._finish",
        _K.OVERRIDDEN,
        ("segment_writer",),
        "the write lock's descriptor is no longer closed in children",
    ),
    *(
        PrivateName(_MP, f"MpWriter.{attr}", _K.READ, ("segment_writer",), why)
        for attr, why in (
            ("tasks", "the sub-processes, stopped by cancel and extended by _new_task"),
            ("jobqueue", "handed to a new task as Whoosh does"),
            ("resultqueue", "handed to a new task"),
            ("subargs", "handed to a new task"),
            ("multisegment", "handed to a new task; without it merges go through the pool"),
            ("_added_sub", "documents went to sub-writers (then merged postings are pooled)"),
        )
    ),
    PrivateName(
        _MP, "SubWriterTask", _K.IMPORTED, ("segment_writer",), "_FastSubWriterTask subclasses it"
    ),
    PrivateName(
        _MP,
        "SubWriterTask.multisegment",
        _K.READ,
        ("segment_writer",),
        "bulk postings only when the task finishes its own segment",
    ),
    PrivateName(
        _MP,
        "SegmentWriter",
        _K.PATCHED,
        ("segment_writer",),
        "rebound in the child process only: SubWriterTask.run builds its writer by it",
    ),
    PrivateName(
        "whoosh.util.filelock",
        "FileLock.fd",
        _K.READ,
        ("segment_writer",),
        "the write lock's descriptor, closed in forked writer processes",
    ),
    # -- the file index: TOC reads, commits and clean-up --
    PrivateName(
        "whoosh.index",
        "FileIndex._read_toc",
        _K.OVERRIDDEN,
        ("fileindex",),
        "retried when a concurrent commit deletes the TOC",
    ),
    PrivateName("whoosh.index", "FileIndex._segments", _K.CALLED, ("fileindex",), "segment_count"),
    PrivateName(
        "whoosh.index",
        "TOC",
        _K.IMPORTED,
        ("fileindex", "checksums"),
        "the table of contents, read to clean up; its read and write are hooked",
    ),
    PrivateName(
        "whoosh.index",
        "clean_files",
        _K.IMPORTED,
        ("fileindex",),
        "removes the files of segments the TOC does not name",
    ),
    PrivateName(
        "whoosh.index",
        "TOC._latest_generation",
        _K.CALLED,
        ("checksums",),
        "the generation whose manifest is checked before the TOC is read",
    ),
    PrivateName(
        "whoosh.index",
        "TOC.read",
        _K.PATCHED,
        ("checksums",),
        "the generation's checksums are verified before Whoosh reads it",
    ),
    PrivateName(
        "whoosh.index",
        "TOC.write",
        _K.PATCHED,
        ("checksums",),
        "writes through a storage whose rename_file writes the manifest first",
    ),
    PrivateName(
        "whoosh.filedb.compound",
        "CompoundStorage._dir",
        _K.READ,
        ("checksums",),
        "where each part of a compound segment file lies (part checksums)",
    ),
    PrivateName(
        "whoosh.filedb.structfile",
        "StructFile.file",
        _K.READ,
        ("storage",),
        "the OS file, fsynced when a segment or TOC is closed",
    ),
    # -- the safe unpickler: every unpickling of index data routed through it --
    PrivateName(
        "whoosh.filedb.structfile",
        "load_pickle",
        _K.PATCHED,
        ("safepickle",),
        "StructFile.read_pickle: segment lists, block heads, column headers",
    ),
    PrivateName(
        "whoosh.index",
        "pickle",
        _K.PATCHED,
        ("safepickle",),
        "TOC.read's pickle.loads of the schema",
    ),
    PrivateName(
        "whoosh.index",
        "toc_loaders",
        _K.PATCHED,
        ("safepickle",),
        "emptied: the legacy TOC loaders unpickle anything",
    ),
    *(
        PrivateName(module, "loads", _K.PATCHED, ("safepickle",), why)
        for module, why in (
            (_W3, "posting blocks and inlined postings"),
            ("whoosh.formats", "posting values (positions)"),
            ("whoosh.columns", "stored fields"),
            ("whoosh.codec.plaintext", "the debugging codec"),
        )
    ),
    # -- what Whoosh imports and never uses, stood in for while it loads ------------
    PrivateName(
        "whoosh.compat",
        "urlretrieve",
        _K.PATCHED,
        (WHOOSH_IMPORTS,),
        "a deferred stand-in: urllib.request (http, email, ssl) imported only if called",
    ),
    PrivateName(
        "whoosh.reading",
        "cached_property",
        _K.PATCHED,
        (WHOOSH_IMPORTS,),
        "functools.cached_property: the package's imports asyncio",
    ),
    PrivateName(
        "whoosh.reading",
        "SegmentReader.deleted_docs_set",
        _K.PATCHED,
        (WHOOSH_IMPORTS,),
        "so made by functools.cached_property",
    ),
    *(
        PrivateName(
            module,
            "variations",
            _K.PATCHED,
            (WHOOSH_IMPORTS,),
            "a deferred stand-in: whoosh.lang.morph_en's patterns compiled only if called",
        )
        for module in ("whoosh.query.terms", "whoosh.query")
    ),
)

#: The public Whoosh names the engine imports (anything else it imports is in
#: :data:`PRIVATE_NAMES`).
PUBLIC_NAMES: frozenset[str] = frozenset(
    {
        "whoosh.analysis.Composable",
        "whoosh.analysis.CompositeAnalyzer",
        "whoosh.analysis.IDTokenizer",
        "whoosh.analysis.LowercaseFilter",
        "whoosh.analysis.RegexTokenizer",
        "whoosh.analysis.StopFilter",
        "whoosh.codec.base.Codec",
        "whoosh.codec.base.Segment",
        "whoosh.columns.Column",
        "whoosh.columns.CompressedBytesColumn",
        "whoosh.columns.NumericColumn",
        "whoosh.columns.PickleColumn",
        "whoosh.columns.VarBytesColumn",
        "whoosh.fields.FieldType",
        "whoosh.fields.Schema",
        "whoosh.fields.TEXT",
        "whoosh.filedb.filestore.FileStorage",
        "whoosh.filedb.structfile.StructFile",
        "whoosh.formats",
        "whoosh.formats.Format",
        "whoosh.formats.Positions",
        "whoosh.index.FileIndex",
        "whoosh.matching",
        "whoosh.matching.Matcher",
        "whoosh.matching.wrappers.FilterMatcher",
        "whoosh.query.And",
        "whoosh.query.AndMaybe",
        "whoosh.query.AndNot",
        "whoosh.query.Every",
        "whoosh.query.NullQuery",
        "whoosh.query.Or",
        "whoosh.query.Phrase",
        "whoosh.query.ConstantScoreQuery",
        "whoosh.query.Query",
        "whoosh.query.Term",
        "whoosh.query.TermRange",
        "whoosh.query.spans.SpanNear2",
        "whoosh.query.qcore.QueryError",
        "whoosh.reading.IndexReader",
        "whoosh.reading.SegmentReader",
        "whoosh.reading.TermNotFound",
        "whoosh.scoring.BM25F",
        "whoosh.searching.Searcher",
    }
)


__all__ = [
    "INTERNAL_MODULES",
    "PRIVATE_NAMES",
    "PUBLIC_NAMES",
    "WHOOSH_IMPORTS",
    "WHOOSH_VERSION",
    "Kind",
    "PrivateName",
]
