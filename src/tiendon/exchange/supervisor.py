"""`tiendon node start`: one node as one command. It migrates the node's database, then runs
and watches its processes: the web server (gunicorn) unless the node only pulls, the
delivery worker, and for an edge behind NAT the pull loop. A child that dies is started
again after a pause; SIGTERM or SIGINT stops them all.

Everything durable is in the database and the blob folder, so killing any of these
processes at any moment loses nothing: the outbox lease runs out and another pass sends
what was in flight (the fault tests kill whole nodes with SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from django.conf import settings

RESTART_PAUSE_SECONDS = 1.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)


def _tiendon() -> list[str]:
    return [sys.executable, "-c", "from tiendon.cli import main; main()"]


def node_children(
    *, host: str, port: int | None, web_workers: int, pull: bool, worker: bool = True
) -> list[Child]:
    children: list[Child] = []
    if port is not None:
        children.append(
            Child(
                "web",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "tiendon.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(web_workers),
                    "--worker-class",
                    "gthread",
                    "--threads",
                    "4",
                    # Pull requests are held up to 20 s (long polling).
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--access-logfile",
                    "-" if os.environ.get("TIENDON_ACCESS_LOG") else "/dev/null",
                ],
            )
        )
    if worker:
        children.append(Child("worker", [*_tiendon(), "exchange", "worker"]))
        # What arrived, handed to the apps that own it (exchange/dispatch.py).
        children.append(Child("dispatch", [*_tiendon(), "exchange", "dispatch"]))
        # Overdue and due-soon reminders, made hourly (documents/deadlines/reminders.py).
        children.append(Child("reminders", [*_tiendon(), "documents", "remind", "--follow"]))
    if pull:
        children.append(Child("pull", [*_tiendon(), "exchange", "pull"]))
    if settings.TIENDON_SEARCH_INDEX:
        # The node's one search indexer (documents/search_index.py, ADR 0011).
        children.append(
            Child("search-index", [*_tiendon(), "documents", "search-index", "--follow"])
        )
    return children


class Supervisor:
    def __init__(self, children: list[Child], *, log: Path | None = None) -> None:
        self.children = children
        self.stopping = False
        self.log = log

    def _start(self, child: Child) -> None:
        out = self.log.open("ab") if self.log else None
        child.process = subprocess.Popen(child.argv, stdout=out, stderr=out)
        child.started_at = time.monotonic()
        if out is not None:
            out.close()

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for child in self.children:
            self._start(child)
        while not self.stopping:
            time.sleep(0.2)
            for child in self.children:
                assert child.process is not None
                code = child.process.poll()
                if code is None or self.stopping:
                    continue
                print(f"node: {child.name} exited with {code}; starting it again", flush=True)
                time.sleep(RESTART_PAUSE_SECONDS)
                child.restarts += 1
                self._start(child)
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in self.children:
            if child.process is not None:
                try:
                    child.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.process.kill()
        return 0
