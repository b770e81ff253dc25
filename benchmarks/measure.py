"""Timing a whole process and sampling the peak memory of its process tree."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    seconds: float
    # Sampled every 20 ms over the process and all its children. PSS counts a page
    # shared by n processes (forked writer processes share the parent's pages) as
    # 1/n in each, so the sum is the tree's real footprint; the RSS sum counts
    # shared pages once per process.
    peak_tree_pss_mb: float
    peak_tree_rss_mb: float
    returncode: int
    stderr: str
    # The largest RSS of any one process of the tree.
    peak_process_rss_mb: float = 0.0


def machine() -> str:
    """The machine a figure was taken on, as a benchmark's header prints it: the CPU
    model (where ``/proc/cpuinfo`` names it), the cores, and which Python build (its
    executable, compiler and build date). The same queries took about 1.5x the time on
    one 2-vCPU VM as on another, and one Python build cost an ingest about an eighth more
    CPU than another on the same machine (BENCHMARKS.md, Scale -> twenty-seventh
    pass): figures from two runs compare only when these match."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    build = ", ".join(
        (os.path.realpath(sys.executable), platform.python_compiler(), platform.python_build()[1])
    )
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()} ({build})"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            text = (task / "children").read_text()
            found.extend(int(c) for c in text.split())
    except OSError:
        pass
    return found


def _proc_kb(path: str, key: str) -> int | None:
    """The kB figure of ``key`` in a /proc status-style file, None if unreadable."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_kb(pid: int) -> int:
    return _proc_kb(f"/proc/{pid}/status", "VmRSS:") or 0


def _pss_kb(pid: int) -> int:
    found = _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:")
    return _rss_kb(pid) if found is None else found


def tree_memory_kb(pid: int) -> tuple[int, int, int]:
    """(PSS, RSS) summed over ``pid`` and its descendants, and the largest RSS of one
    of them."""
    pss = rss = largest = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        pss += _pss_kb(p)
        one = _rss_kb(p)
        rss += one
        largest = max(largest, one)
        stack.extend(_children(p))
    return pss, rss, largest


def run(cmd: list[str], env: dict[str, str] | None = None, *, memory: bool = True) -> Run:
    """Run ``cmd``; wall time from start to exit, and the peak PSS and RSS of its tree
    (0 without ``memory``). Sampling costs CPU (reading /proc/<pid>/smaps_rollup of
    every process, 50 times a second), which a process using every core pays for in
    time: time runs without it, and measure memory in runs of their own."""
    peak_pss = peak_rss = peak_one = 0
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    if not memory:
        _, err = proc.communicate()
        return Run(time.perf_counter() - start, 0.0, 0.0, proc.returncode, err)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_pss, peak_rss, peak_one
        while not done.is_set():
            pss, rss, one = tree_memory_kb(proc.pid)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            peak_one = max(peak_one, one)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return Run(seconds, peak_pss / 1024, peak_rss / 1024, proc.returncode, err, peak_one / 1024)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


GNU_TIME = Path("/usr/bin/time")


@dataclass
class Usage:
    """A finished process: wall seconds, CPU seconds (user + system, its waited-for
    children included) and peak RSS (the largest of the process and those children),
    from the kernel's accounting (``wait4``), not sampled."""

    seconds: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_usage(cmd: list[str], env: dict[str, str] | None = None) -> Usage:
    """Run ``cmd`` to its end. Through GNU ``time`` where there is one, for the peak
    RSS: a child forked from this (large) Python process starts with its resident set,
    which Linux counts in the child's peak RSS even after ``exec``; GNU time's own is
    ~2 MB. The CPU seconds are ``wait4``'s, in microseconds (GNU time prints
    hundredths, too coarse to compare processes of a few hundred milliseconds), GNU
    time's own ~1 ms included."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        wrapped = cmd
        if GNU_TIME.exists():
            wrapped = [str(GNU_TIME), "-q", "-o", report.name, "-f", "%U %S %M", *cmd]
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        proc.returncode = returncode  # reaped here: Popen must not wait for it again
        cpu, peak_kb = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
        fields = report.read().split()
        if GNU_TIME.exists() and len(fields) == 3:
            peak_kb = int(fields[2])
        out.seek(0)
        err.seek(0)
        return Usage(
            seconds,
            cpu,
            peak_kb / 1024,
            returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
