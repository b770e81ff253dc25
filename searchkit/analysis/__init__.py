"""Text analysis: how written text becomes index terms, for records and queries alike.

Owns the biomedical analyzer (:mod:`.analyzer`: compounds, Greek letters, stop words,
stemming), the per-word term cache the writer uses (:mod:`.termizer`), the Snowball
stemmer, UK/US spelling folding and the acronym table mined from the records.

May import: the ground modules (:mod:`searchkit.records`, :mod:`searchkit.errors`,
:mod:`searchkit.params`, :mod:`searchkit.atomic`, :mod:`searchkit.whoosh_imports`) and
nltk. Never Whoosh's internals, the index, queries or anything after them.
"""
