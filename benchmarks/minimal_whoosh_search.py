"""The least a search with stock Whoosh can do, as a process: open an index made by
``baseline_whoosh.py``, parse the query over title and abstract, print the top 10.
The yardstick for ``searchkit search``'s whole-process cost (``startup.py``).

    python benchmarks/minimal_whoosh_search.py INDEX_DIR "immune escape MHC"
"""

import sys

from whoosh import index
from whoosh.qparser import MultifieldParser, OrGroup

ix = index.open_dir(sys.argv[1])
parser = MultifieldParser(["title", "abstract"], ix.schema, group=OrGroup)
with ix.searcher() as searcher:
    for hit in searcher.search(parser.parse(sys.argv[2]), limit=10):
        print(hit["pmid"], hit["title"])
