"""The query language: PubMed-style syntax parsed into a tree (:mod:`.parser`) and
compiled into engine queries (:mod:`.compile`, free text by :mod:`.free_text`,
wildcards, the all-words reading that counts).

May import: the ground modules, readers, analysis, engine and index.
"""
