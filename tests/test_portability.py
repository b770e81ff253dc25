"""searchkit imports on a platform without POSIX-only modules (Windows has no fcntl),
and its file locks (one helper: ``flock`` on POSIX, ``filelock`` on Windows) exclude other
processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from searchkit.index.locking import holding

IMPORT_EVERY_MODULE = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    for name in ("fcntl", "termios", "pwd", "grp", "resource"):
        sys.modules[name] = None  # import fails, as on Windows
    import searchkit
    names = [m.name for m in pkgutil.walk_packages(searchkit.__path__, "searchkit.")]
    for name in names:
        if name != "searchkit.__main__":
            importlib.import_module(name)
    print(len(names))
    """
)


@pytest.mark.slow
def test_every_module_imports_without_posix_only_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40  # every module, those of the subpackages too


@pytest.mark.parametrize("platform", [sys.platform, "win32"])
def test_a_held_lock_excludes_another_process(
    tmp_path: Path, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also through the Windows branch of the lock (``filelock``'s descriptor lock,
    loaded for this platform: the CI's machines are POSIX), in both processes, the
    one holding the lock and the one trying it: the calls the Windows branch makes
    exist and exclude another process."""
    lock_file = tmp_path / "some.lock"
    probe = textwrap.dedent(
        f"""
        import os, sys
        import filelock  # loaded for this platform, then the branch is chosen
        sys.platform = {platform!r}
        from searchkit.index.locking import lock_fd
        fd = os.open({str(lock_file)!r}, os.O_RDWR | os.O_CREAT)
        print(lock_fd(fd, blocking=False))
        """
    )
    import filelock  # loaded for this platform before the Windows branch is chosen

    assert filelock.lock_descriptor
    monkeypatch.setattr(sys, "platform", platform)

    def try_lock() -> str:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with lock_file.open("a") as handle, holding(handle):
        inside = try_lock()
    assert (inside, try_lock()) == ("False", "True")
