"""Where the benchmarks find the repository and the shared real data (no searchkit
import here: importing searchkit patches Whoosh, which the stock baselines must not
see)."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared real-data folder: ``$SEARCHKIT_SHARED_DATA`` if set, else the first
    ``shared/data`` beside the repository or one of its parent folders."""
    if os.environ.get("SEARCHKIT_SHARED_DATA"):
        return Path(os.environ["SEARCHKIT_SHARED_DATA"])
    for folder in repo_root().parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return repo_root().parent / "shared" / "data"
