"""searchkit's version: one place, read by packaging, the CLI and saved reports."""

__version__ = "0.1.0"
