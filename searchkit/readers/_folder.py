"""Which files found in a folder hold no records, so that a walk passes them over.

Folders of records hold other files too: NLM ships a ``.md5`` beside each baseline
file, and exports sit beside notes and settings. A file found in a folder is passed
over when the format detection finds no record format in it (empty, binary, other
text) or it is JSON that names no record id (``pmid`` or BEIR's ``_id``), unless
its name claims a record format (``.xml``, ``.nbib``, ``.jsonl``…): a damaged
record file is reported, never passed over. A file named on the command line is
always read, and reported if it holds no records.
"""

from __future__ import annotations

import re
from pathlib import Path

from searchkit.errors import InputError
from searchkit.readers._detect import HEAD_BYTES, JSONL, NotRecords, detect_format, suffix_hint
from searchkit.readers._io import read_head

# A JSON key naming a record's id: searchkit's "pmid", BEIR's "_id".
_ID_KEY = re.compile(rb'"(?:pmid|_id)"\s*:')


def not_records(path: Path) -> str | None:
    """Why ``path``, found in a folder, is to be passed over; ``None`` to read it.

    A file that cannot be opened or read is read, so that the reader reports it."""
    if suffix_hint(path) is not None:
        return None
    try:
        found = detect_format(path)
        head = read_head(path, HEAD_BYTES) if found == JSONL else b""
    except NotRecords as exc:
        return exc.reason
    except (InputError, OSError):
        return None
    if found == JSONL and _ID_KEY.search(head) is None:
        return "JSON, but not JSON Lines records (no pmid or _id)"
    return None
