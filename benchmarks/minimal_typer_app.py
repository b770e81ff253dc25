"""The least a typer CLI costs to start: one command, one option. The yardstick for
``searchkit --help`` (``startup.py``).

    python benchmarks/minimal_typer_app.py --help
"""

import typer

app = typer.Typer()


@app.command()
def search(query: str, limit: int = 10) -> None:
    """Search."""
    print(query, limit)


if __name__ == "__main__":
    app()
