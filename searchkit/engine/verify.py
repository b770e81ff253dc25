"""Reading a whole index against its checksums (``searchkit check``): every file of
the current generation, every damaged one listed, not only the first.

Apart from :mod:`searchkit.engine.checksums`, which every process opening an index
loads, because only ``check`` and the diagnosis after a failed read (:func:`diagnose`)
run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from searchkit.engine.checksums import (
    READ_ATTEMPTS,
    IndexDamagedError,
    check_file,
    has_manifests,
    latest_generation,
    manifest_name,
    opened,
    read_manifest,
)


@dataclass
class CheckReport:
    """What :func:`verify_index` found."""

    generation: int
    files: int = 0
    bytes: int = 0
    checksums: bool = True  # False: an index written before checksums were recorded
    damaged: list[str] | None = None


def verify_index(folder: Path, indexname: str = "MAIN") -> CheckReport:
    """Read every file of the index's current generation and compare it with its
    recorded checksum; every damaged file is listed (not only the first). A
    generation that a concurrent commit replaces meanwhile is checked again."""
    for _ in range(READ_ATTEMPTS - 1):
        report = _verify_generation_files(folder, indexname)
        missing = report.damaged and any(p.endswith(" is missing") for p in report.damaged)
        if not missing or latest_generation(folder, indexname) == report.generation:
            return report
    return _verify_generation_files(folder, indexname)


def _verify_generation_files(folder: Path, indexname: str) -> CheckReport:
    generation = latest_generation(folder, indexname)
    report = CheckReport(generation, damaged=[])
    assert report.damaged is not None
    name = manifest_name(indexname, generation)
    try:
        files = read_manifest(folder, name)
    except FileNotFoundError:
        if generation >= 0 and not has_manifests(folder, indexname):
            report.checksums = False
            return report
        report.damaged.append(f"{name} is missing")
        return report
    except IndexDamagedError as exc:
        report.damaged.append(exc.problem)
        return report
    for file, entry in sorted(files.items()):
        try:
            check_file(folder, file, entry, full=True)
        except FileNotFoundError:
            report.damaged.append(f"{file} is missing")
        except IndexDamagedError as exc:
            report.damaged.append(exc.problem)
        report.files += 1
        report.bytes += entry.size
    return report


def diagnose() -> IndexDamagedError | None:
    """After an unexpected failure while reading: verify in full every index this
    process has opened, and return the damage found, if any (the failure was then
    the damage's doing: an index above
    :data:`~searchkit.engine.checksums.VERIFY_AT_OPEN_BYTES` is not read in full when
    opened)."""
    for folder, indexname in opened():
        try:
            report = verify_index(folder, indexname)
        except OSError:  # the index is gone (removed, or replaced by a rebuild)
            continue
        if report.damaged:
            return IndexDamagedError(folder, "; ".join(report.damaged))
    return None


__all__ = ["CheckReport", "diagnose", "verify_index"]
