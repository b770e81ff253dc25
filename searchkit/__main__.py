"""``python -m searchkit``."""

from searchkit.cli import app

app(prog_name="searchkit")
