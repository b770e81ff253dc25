"""Where the index lives when the user does not say."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "SEARCHKIT_INDEX"


def user_data_dir() -> Path:
    """The per-user data directory for searchkit (XDG on Linux, the usual places elsewhere)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "searchkit"


def resolve_index_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--index DIR`` if given, else ``$SEARCHKIT_INDEX``, else the user data directory."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return user_data_dir() / "index"
