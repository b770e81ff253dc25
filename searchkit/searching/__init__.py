"""Searching an index: the one ranking pipeline (:func:`searchkit.searching.pipeline.rank`)
and what is built on it — search results with filters, paging, counts and snippets;
re-ranking, feedback, did-you-mean, similar records, strategies, evaluation.

May import: everything below it (ground, readers, analysis, engine, index, query).
The optional semantic stage plugs in through the pipeline's stage interface; this
package never imports :mod:`searchkit.semantic`.
"""

#: Hits ranked per query for the uncut metrics of ``searchkit eval`` (here, not in
#: :mod:`searchkit.searching.evaluation`, so that the command line shows it without
#: loading the ranking's modules).
DEFAULT_DEPTH = 1000
