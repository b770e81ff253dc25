"""A SolrCloud collection as the index: the address (``solr://HOST:PORT/solr/COLLECTION``),
the HTTP client (credentials from the environment or ``~/.netrc``, retries with back-off),
the configset searchkit uploads, and the backend that runs the commands against it.

May import: everything below it (ground, readers, analysis, engine, index, query,
searching, semantic: a collection's vectors and ranking by meaning). Never cli/ or output/.
"""
