"""Nodes as separate processes on one machine, for the multi-node tests and benchmarks.

Each node has its own data folder and database (SQLite by default, or a PostgreSQL
database of its own) and is driven through the `tiendon` command, as an operator would.
`federation` sets up the chain ministry → province (→ commune edge, which pulls) with one
national root whose key stays offline and an issuing CA per node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TIENDON = str(Path(sys.executable).with_name("tiendon"))
COMMUNE = "14845"  # Xã Mường Lát, Thanh Hóa (38)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """One node: `run` a command against its database, `start` it (`tiendon node start`),
    `kill` it like a power cut (SIGKILL to all its processes), `stop` it cleanly."""

    def __init__(
        self,
        base: Path,
        name: str,
        *,
        port: int | None = None,
        database_url: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.port = name, port
        self.data = base / name
        self.data.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.env.update(TIENDON_DATA_DIR=str(self.data), TIENDON_NODE_NAME=name, TIENDON_DEBUG="0")
        if port is not None:
            self.env["TIENDON_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(extra_env or {})
        self.server: subprocess.Popen[bytes] | None = None
        self.log = self.data / "node.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [TIENDON, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(f"{self.name}: tiendon {' '.join(args)}\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.run("shell", "--no-imports", "-c", code)

    def start(self, *, pull: bool = False, worker: bool = True, web_workers: int = 1) -> None:
        args = ["node", "start", "--name", self.name, "--data", str(self.data)]
        if self.port is not None:
            args += ["--port", str(self.port), "--web-workers", str(web_workers)]
        if pull:
            args.append("--pull")
        if not worker:
            args.append("--no-worker")
        with self.log.open("ab") as out:
            self.server = subprocess.Popen(
                [TIENDON, *args, "--log", str(self.log)],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,  # its own process group, so `kill` takes every child
            )
        if self.port is None:
            return
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/pki/authorities", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the node's whole process group: web server, worker, pull loop."""
        if self.server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=30)
            self.server = None

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.server = None


def national_root(base: Path, first: NodeProcess, *others: NodeProcess) -> None:
    """One national root, its key offline; each node its own issuing CA under it."""
    (base / "passphrase").write_text("mật khẩu gốc")
    offline = base / "offline"
    common = ["--passphrase-file", str(base / "passphrase")]
    first.run("pki", "init", "--root-key-out", str(offline), *common)
    for node in others:
        node.run(
            "pki",
            "init",
            "--root-cert",
            str(offline / "root-cert.pem"),
            "--root-key",
            str(offline / "root-key.pem"),
            *common,
        )


def federation(
    base: Path, ministry: NodeProcess, province: NodeProcess, edge: NodeProcess | None = None
) -> None:
    """Set up ministry (serves BQP) → province (serves 38) [→ edge serving COMMUNE, which
    pulls]; the province's node holds the commune's keys when there is no edge. Nodes are
    not started, and have not exchanged certificates yet (see `first_contact`)."""
    nodes = [n for n in (ministry, province, edge) if n is not None]
    for node in nodes:
        node.run("migrate", "-v0")
        node.run("seed-units")
    national_root(base, *nodes)
    ministry.run("pki", "issue-unit", "--unit", "BQP")
    province.run("pki", "issue-unit", "--unit", "38")
    (edge or province).run("pki", "issue-unit", "--unit", COMMUNE)
    ministry.run("node", "init", "--name", ministry.name, "--serves", "BQP")
    ministry.run(
        "node",
        "add",
        "--name",
        province.name,
        "--relation",
        "child",
        "--url",
        province.url,
        "--serves",
        "38",
    )
    province.run("node", "init", "--name", province.name, "--serves", "38")
    province.run(
        "node", "add", "--name", ministry.name, "--relation", "parent", "--url", ministry.url
    )
    if edge is None:
        return
    province.run(
        "node", "add", "--name", edge.name, "--relation", "child", "--pulls", "--serves", COMMUNE
    )
    edge.run("node", "init", "--name", edge.name, "--serves", COMMUNE)
    edge.run("node", "add", "--name", province.name, "--relation", "parent", "--url", province.url)
    # Installing the edge, the province's operator takes its CAs by hand (first contact).
    exported = base / f"{edge.name}-cas.json"
    edge.run("pki", "export-authorities", "--out", str(exported))
    province.run("pki", "import-authorities", str(exported), "--node", edge.name)


def first_contact(
    ministry: NodeProcess, province: NodeProcess, edge: NodeProcess | None = None
) -> None:
    """With ministry and province serving: the edge hands its certificates up, then each
    learns the others' CAs, CRLs and unit certificates."""
    if edge is not None:
        edge.run("exchange", "pull", "--once")
    province.run("exchange", "sync")
    ministry.run("exchange", "sync")
    if edge is not None:
        edge.run("exchange", "sync")
