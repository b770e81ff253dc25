"""The test SolrCloud: builds the Java launcher beside this file (Maven) and runs it.

The launcher (src/main/java/searchkit/testcluster/TestCluster.java) starts a real SolrCloud
of N Jetty nodes and an embedded ZooKeeper in one JVM, with basic authentication on and
HTTPS only (a certificate issued at start-up by a CA of its own, whose PEM file the READY
line names), prints one ``READY {json}`` line and then obeys ``stop I`` / ``start I`` lines on
its stdin. It shuts down when its stdin closes, so a killed test run never leaves a JVM
behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from filelock import FileLock

HERE = Path(__file__).resolve().parent
TARGET = HERE / "target"
MAIN_CLASS = "searchkit.testcluster.TestCluster"
#: Small heap, serial GC and the C1 compiler only: the machine's cores are shared, and the
#: tests index a few hundred records.
JVM_OPTIONS = ("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
READY_TIMEOUT = 180.0  # seconds for the cluster to come up
STOP_TIMEOUT = 60.0  # seconds for a clean shutdown after stdin closes
REQUIRE_ENV = "SEARCHKIT_REQUIRE_SOLR"
CA_ENV = "SEARCHKIT_SOLR_CA"
USER = "searchkit-test"
#: The environment the launcher and Maven run with: captured when this module is imported,
#: before any test points HOME at a temp dir (Maven keeps its repository under ~/.m2).
_ENV = dict(os.environ)


def missing_tools() -> list[str]:
    """The tools the cluster needs that are not on PATH."""
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def build() -> list[str]:
    """Compile the launcher (once; a lock keeps parallel workers apart) and return the
    ``java`` command line that runs it. Offline first: Maven's local repository persists
    across runs, so only the first build on a machine downloads the Solr artifacts."""
    TARGET.mkdir(exist_ok=True)
    with FileLock(str(TARGET / "build.lock")):
        classpath = TARGET / "classpath.txt"
        for offline in (True, False):
            command = ["mvn", "-q", "-B", *(["-o"] if offline else []), "compile"]
            done = subprocess.run(
                command, cwd=HERE, env=_ENV, capture_output=True, text=True, check=False
            )
            if done.returncode == 0 and classpath.exists():
                break
        else:
            raise RuntimeError(f"building the test cluster failed:\n{done.stdout}{done.stderr}")
    path = os.pathsep.join([str(TARGET / "classes"), classpath.read_text().strip()])
    return ["java", *JVM_OPTIONS, "-cp", path, MAIN_CLASS]


@dataclass
class SolrCluster:
    """A running test cluster: node base URLs (https), the ZooKeeper address, the CA
    certificate (PEM) the nodes' certificate is issued by, and credentials."""

    process: subprocess.Popen[str]
    nodes: list[str]
    zk: str
    ca: Path
    user: str
    password: str
    seconds_to_start: float
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host_port(self) -> str:
        """``HOST:PORT`` of the first node."""
        return self.nodes[0].split("://", 1)[1].split("/", 1)[0]

    def url(self, collection: str) -> str:
        """The searchkit index address of ``collection`` on the first node."""
        return f"solrs://{self.host_port}/solr/{collection}"

    def env(self) -> dict[str, str]:
        """The credentials and the CA as the environment variables searchkit reads."""
        return {
            "SEARCHKIT_SOLR_USER": self.user,
            "SEARCHKIT_SOLR_PASSWORD": self.password,
            CA_ENV: str(self.ca),
        }

    def _command(self, line: str) -> str:
        with self._lock:
            assert self.process.stdin and self.process.stdout
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline().strip()
        if not answer.startswith("OK "):
            raise RuntimeError(f"test cluster: {line!r} -> {answer!r}")
        return answer[3:]

    def stop_node(self, index: int) -> None:
        self._command(f"stop {index}")

    def start_node(self, index: int) -> None:
        self._command(f"start {index}")

    def shutdown(self) -> None:
        """Close stdin (the launcher shuts the cluster down), then wait; kill as last resort."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _read_line(stream: IO[str], timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


def start(base_dir: Path, nodes: int = 2) -> SolrCluster:
    """Build the launcher and start a fresh cluster of ``nodes`` nodes under ``base_dir``."""
    command = build()
    password = secrets.token_urlsafe(16)
    env = {**_ENV, "SEARCHKIT_SOLR_USER": USER, "SEARCHKIT_SOLR_PASSWORD": password}
    log = (base_dir / "cluster.log").open("w")
    began = time.monotonic()
    process = subprocess.Popen(
        [*command, str(nodes), str(base_dir / "cluster")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    log.close()
    assert process.stdout
    line = _read_line(process.stdout, READY_TIMEOUT)
    if not line.startswith("READY "):
        if process.stdin:
            process.stdin.close()
        process.kill()
        process.wait()
        process.stdout.close()
        tail = (base_dir / "cluster.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the test cluster did not start: {line!r}\n{tail}")
    ready = json.loads(line[len("READY ") :])
    return SolrCluster(
        process=process,
        nodes=ready["nodes"],
        zk=ready["zk"],
        ca=Path(ready["ca"]),
        user=USER,
        password=password,
        seconds_to_start=time.monotonic() - began,
    )
