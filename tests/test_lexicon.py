"""Reading a field's terms and weights from the terms files in bulk."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchkit import SearchIndex
from searchkit.engine.lexicon import CHUNK_BYTES, term_weights


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
