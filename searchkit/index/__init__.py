"""An index on disk: open/create, schema, documents, ingest, rebuild, sources,
locking, location, the MeSH tree and search history kept with it.

May import: the ground modules, :mod:`searchkit.readers`, :mod:`searchkit.analysis` and
:mod:`searchkit.engine`. Never query, searching, semantic, output or the CLI: the
optional semantic stage keeps its files beside the index through the small
:class:`~searchkit.index.sidecars.Sidecar` interface instead.
"""
