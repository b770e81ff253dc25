"""Records that have a field at all (PubMed's ``hasabstract``): the documents whose
stored length in the field is above zero, read from the segment's length column in
arrays (its one-byte codes: only code 0 is length 0), once per state of the index
(kept in its postings cache with the phrases' frequencies).

:class:`HasTerms` is Whoosh's ``Every(fieldname)`` (documents with any term in the
field), whose own matcher reads the postings of every term of the field: on a large
index, every abstract's every word. Its matcher here, and the evaluator
(:mod:`searchkit.engine.scoring`), read one length per document instead; a document
has a term in the field exactly when its length there is not zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh import matching
from whoosh.query import Every

from searchkit.engine.joined import Arrays, arrays_of
from searchkit.engine.postings import Floats, Ints


class HasTerms(Every):
    """The documents with anything in ``fieldname``, each scoring ``boost``."""

    def matcher(self, searcher: Any, context: Any = None) -> matching.Matcher:
        docs = holding_field(arrays_of(searcher.reader()), self.fieldname)
        return matching.ListMatcher(docs.tolist(), all_weights=self.boost)


def holding_field(arrays: Arrays, field: str) -> Ints:
    """The live documents (ascending) with a length above zero in ``field``."""
    if not arrays.size:
        return np.zeros(0, dtype=np.int64)

    def compute() -> tuple[Ints, Floats]:
        held = arrays.held(field) & ~arrays.deleted()
        ids = np.flatnonzero(held).astype(np.int64, copy=False)
        return ids, np.ones(len(ids), dtype=np.float64)

    return arrays.derived(("holding field", field), compute)[0]
