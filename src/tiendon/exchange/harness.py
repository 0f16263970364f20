"""Nodes as separate processes on one machine, for the multi-node tests and benchmarks.

Each node has its own data folder and database (SQLite by default, or a PostgreSQL
database of its own) and is driven through the `tiendon` command, as an operator would.
`federation` sets up the chain ministry → province (→ commune edge, which pulls) with one
national root whose key stays offline and an issuing CA per node.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
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
    base: Path,
    ministry: NodeProcess,
    province: NodeProcess,
    edge: NodeProcess | None = None,
    *,
    edge_parent_url: str | None = None,
) -> str:
    """Set up ministry (serves BQP) → province (serves 38) [→ edge serving COMMUNE, which
    pulls]; the province's node holds the commune's keys when there is no edge. Nodes are
    not started, and have not exchanged certificates yet (see `first_contact`). Returns
    what the province said on taking the edge's CAs by hand ("" without an edge)."""
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
        return ""
    province.run(
        "node", "add", "--name", edge.name, "--relation", "child", "--pulls", "--serves", COMMUNE
    )
    edge.run("node", "init", "--name", edge.name, "--serves", COMMUNE)
    parent_url = edge_parent_url or province.url  # a throttling proxy, in the slow-link test
    edge.run("node", "add", "--name", province.name, "--relation", "parent", "--url", parent_url)
    # Installing the edge, the province's operator takes its CAs by hand (first contact).
    exported = base / f"{edge.name}-cas.json"
    edge.run("pki", "export-authorities", "--out", str(exported))
    return province.run("pki", "import-authorities", str(exported), "--node", edge.name)


def first_contact(
    ministry: NodeProcess, province: NodeProcess, edge: NodeProcess | None = None
) -> None:
    """With ministry and province serving: the edge hands its certificates up, then each
    learns the others' CAs, CRLs and unit certificates."""
    if edge is not None:
        for attempt in range(5):  # the edge's link may be a lossy one (ThrottlingProxy)
            try:
                edge.run("exchange", "pull", "--once")
                break
            except AssertionError:
                if attempt == 4:
                    raise
    province.run("exchange", "sync")
    ministry.run("exchange", "sync")
    if edge is not None:
        edge.run("exchange", "sync")


class _Bucket:
    """A token bucket: `rate` bytes per second, shared by every connection in a direction."""

    def __init__(self, rate: float) -> None:
        self.rate, self.lock = rate, threading.Lock()
        self.free_at = time.monotonic()

    def take(self, count: int) -> None:
        with self.lock:
            now = time.monotonic()
            self.free_at = max(self.free_at, now) + count / self.rate
            wait = self.free_at - now - 0.05  # a little burst, as a modem buffer gives
        if wait > 0:
            time.sleep(wait)


class ThrottlingProxy:
    """A slow, unreliable link on loopback, where tc netem is not available: each direction
    carries at most `bits_per_second` (shared by all connections), and a fraction `cut` of
    connections is closed at a random point of its transfer. Counts the bytes it carries."""

    CHUNK = 1024

    def __init__(
        self, upstream_port: int, *, bits_per_second: int, cut: float, seed: int = 0
    ) -> None:
        self.upstream_port, self.cut = upstream_port, cut
        self.rng = random.Random(seed)  # noqa: S311  (a simulated link, seeded to replay)
        self.up, self.down = _Bucket(bits_per_second / 8), _Bucket(bits_per_second / 8)
        self.bytes_up = self.bytes_down = self.connections = self.cuts = 0
        self.victim = -1
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            with self.lock:
                # Exactly one connection in round(1 / cut) is cut, at a random place in each
                # round of connections, its answer at a random point.
                every = max(round(1 / self.cut), 1) if self.cut else 0
                if every and self.connections % every == 0:
                    self.victim = self.connections + self.rng.randrange(every)
                cut_here = every and self.connections == self.victim
                cut_at = self.rng.uniform(0.05, 0.95) if cut_here else None
                self.connections += 1
            threading.Thread(target=self._serve, args=(client, cut_at), daemon=True).start()

    def _serve(self, client: socket.socket, cut_at: float | None) -> None:
        """Carry one connection; if `cut_at` (a fraction) is given, the answer is cut
        there: the request reaches the node whole, its answer only in part."""
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        done = threading.Event()

        def carry(sink: socket.socket, data: bytes, bucket: _Bucket, up: bool) -> None:
            for start in range(0, len(data), self.CHUNK):
                chunk = data[start : start + self.CHUNK]
                bucket.take(len(chunk))
                with self.lock:
                    if up:
                        self.bytes_up += len(chunk)
                    else:
                        self.bytes_down += len(chunk)
                sink.sendall(chunk)

        def pump(source: socket.socket, sink: socket.socket, bucket: _Bucket, up: bool) -> None:
            held = bytearray()  # the whole answer, when it is to be cut
            try:
                while not done.is_set():
                    data = source.recv(self.CHUNK)
                    if not data:
                        break
                    if cut_at is not None and not up:
                        held += data
                    else:
                        carry(sink, data, bucket, up)
                if held and cut_at is not None:
                    carry(sink, bytes(held[: max(int(len(held) * cut_at), 1) - 1]), bucket, up)
                    with self.lock:
                        self.cuts += 1
            except OSError:
                pass
            finally:
                done.set()
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        threads = [
            threading.Thread(target=pump, args=(client, upstream, self.up, True), daemon=True),
            threading.Thread(target=pump, args=(upstream, client, self.down, False), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        upstream.close()
