"""Writing results and records: terminal and machine formats, MEDLINE and RIS exports.

May import: everything below it. Only the CLI imports it.
"""
