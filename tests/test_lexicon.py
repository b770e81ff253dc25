"""Reading a field's terms and weights from the terms files in bulk."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.engine.lexicon import CHUNK_BYTES, segment_entries, term_weights


@pytest.mark.parametrize("chunk_bytes", [CHUNK_BYTES, 64, 5])
@pytest.mark.slow
def test_term_weights_are_what_whooshs_term_reading_gives(
    sample_index_dir: Path, chunk_bytes: int
) -> None:
    """Every leaf's ``iter_field`` (terms and ``info.weight()``), for each text field,
    in one read or in chunks that split the entries (5 bytes: every entry split)."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) > 1
        for field in ("abstract", "title", "authors", "mesh_heading", "pmid"):
            expected = [
                (tbytes, info.weight())
                for leaf, _ in reader.leaf_readers()
                for tbytes, info in leaf.iter_field(field)
            ]
            assert len(expected) > 1000
            assert list(term_weights(reader, field, chunk_bytes)) == expected, field
        assert list(term_weights(reader, "not_a_field_of_the_segments")) == []


@pytest.mark.parametrize("chunk_bytes", [CHUNK_BYTES, 64, 5])
def test_segment_entries_are_what_whooshs_terms_reader_gives(
    sample_index_dir: Path, chunk_bytes: int
) -> None:
    """Every (field, term, term info) of each segment as its terms reader's ``items()``
    gives them (a merge reads them so), in one read or in chunks that split entries."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        for leaf, _ in s.reader().leaf_readers():
            terms = leaf._terms
            # The hash file's own (key, value) pairs, keys decoded as items() does.
            expected = [(*terms._keydecoder(key), value) for key, value in terms._tindex.items()]
            assert [(f, t) for f, t, _ in expected] == [key for key, _ in terms.items()]
            assert len(expected) > 10_000
            assert list(segment_entries(terms, chunk_bytes)) == expected
