"""The optional semantic stage: a sentence encoder, the vectors stored beside an index,
``searchkit embed``, and the re-scoring stage that plugs into the ranking pipeline.

May import: everything below it (ground through searching). Nothing below imports it.
"""

#: Records encoded between two saves of ``searchkit embed`` (here, not in
#: :mod:`searchkit.semantic.embed`, so that the command line shows it without loading
#: the encoder's modules).
CHECKPOINT = 1024

#: The folder of an index that holds its sentence vectors, and the file that says
#: which generation of them is current (here, so that a search can tell that an index
#: has none without loading the stage).
VECTORS_DIR = "vectors"
MANIFEST = "manifest.json"
