"""The optional semantic stage: a sentence encoder, the vectors stored beside an index,
``searchkit embed``, and the re-scoring stage that plugs into the ranking pipeline.

May import: everything below it (ground through searching). Nothing below imports it.
"""
