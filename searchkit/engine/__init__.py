"""The storage engine: the only code that reaches into Whoosh's internals (but for
:mod:`searchkit.whoosh_imports`, which has three Whoosh modules load without imports
they never use, before any layer imports Whoosh; its rebindings are in the same table).

Owns the posting-block codec, reading postings as arrays, reading a field's terms in
bulk, the fast segment writer and its bulk postings, the scoring of searchkit's query
nodes, phrase matching at positions, durable (fsynced) storage, checksummed TOCs, the
safe unpickler, and the writer child processes. Every Whoosh private name it relies on is listed in
:data:`searchkit.engine.whoosh_internals.PRIVATE_NAMES`, checked against the pinned
whoosh-reloaded version by the tests.

May import: the ground modules, :mod:`searchkit.analysis` and Whoosh. Never the index,
query, searching, semantic, output or CLI layers.
"""

from searchkit.engine import checksums, safepickle

# The one place Whoosh is patched, before any engine code reads an index: every
# unpickling of index files goes through safepickle, and every table of contents is
# written with and read against a manifest of checksums. The modules' docstrings list
# the Whoosh names they replace.
safepickle.install()
checksums.install()
