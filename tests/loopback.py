"""Loopback HTTP servers for tests: a plain "upstream" file server, and the base that the fake
Hugging Face Hub (``loopback_hub.py`` beside this file) builds on.

Both listen on 127.0.0.1 only, log every request, honour ``Range``, can inject faults (drop
the connection mid-body, serve corrupt or short bodies), and really stop: ``http.server``
keeps answering pooled keep-alive connections after ``shutdown()``, so the client sockets
are tracked and cut when the server stops.

Tests use them through the fixtures in ``conftest.py`` (``loopback_upstream`` /
``loopback_hub``).
"""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar


@dataclass
class Request:
    """One request the server answered."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """What to do to the next ``times`` bodies served for a path.

    ``kind``: ``"drop"`` (send half the body, then cut the connection), ``"corrupt"`` (same
    length, bytes flipped), ``"truncate"`` (a short body with a matching Content-Length),
    ``"status"`` (answer ``status`` with no body, e.g. 503), or ``"slow"`` (wait ``delay``
    seconds, then answer normally).
    """

    kind: str
    times: int = 1
    status: int = 503
    delay: float = 0.5


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: LoopbackServer, port: int) -> None:
        self.owner = owner
        self.clients: set[socket.socket] = set()
        self.clients_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.clients_lock:
            self.clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.clients_lock:
            self.clients.discard(request)
        super().shutdown_request(request)

    def cut_clients(self) -> None:
        with self.clients_lock:
            clients, self.clients = list(self.clients), set()
        for client in clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers

    def _dispatch(self) -> None:
        owner: LoopbackServer = self.server.owner  # type: ignore[attr-defined]
        # Always consume the body: leftovers would corrupt the next request on this connection.
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner.requests.append(Request(self.command, self.path, dict(self.headers)))
        owner.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


_S = TypeVar("_S", bound="LoopbackServer")


class LoopbackServer:
    """Base class: a threaded HTTP server on ``127.0.0.1:<free port>``.

    Subclasses implement :meth:`handle`. Use as a context manager, or ``start()``/``stop()``.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: dict[str, list[Fault]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self: _S) -> _S:
        if self._server is None:
            self._server = _bind(self, self._port)  # a restarted server keeps its URL
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection (keep-alive ones included)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.cut_clients()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- answering --------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def add_fault(
        self, path: str, kind: str, times: int = 1, status: int = 503, delay: float = 0.5
    ) -> None:
        """Make the next ``times`` requests for ``path`` (URL path, no query) misbehave."""
        self.faults.setdefault(path, []).append(Fault(kind, times, status, delay))

    def _take_fault(self, path: str) -> Fault | None:
        pending = self.faults.get(path.split("?", 1)[0])
        if not pending:
            return None
        fault = pending[0]
        fault.times -= 1
        if fault.times <= 0:
            pending.pop(0)
        return fault

    def count(self, method: str | None = None, contains: str = "") -> int:
        """How many requests matched ``method`` and had ``contains`` in their path."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and contains in r.path
        )


def _bind(owner: LoopbackServer, port: int) -> _Server:
    deadline = time.monotonic() + 2
    while True:
        try:
            return _Server(owner, port)
        except OSError:
            if not port or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    length: int | None = None,
) -> None:
    """Answer with ``body`` (omitted for HEAD); ``length`` overrides Content-Length."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    if handler.command != "HEAD" and body:
        handler.wfile.write(body)


def send_file(
    server: LoopbackServer,
    handler: BaseHTTPRequestHandler,
    data: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Serve ``data`` honouring ``Range: bytes=N-`` and the path's pending fault."""
    headers = dict(headers or {})
    headers.setdefault("Accept-Ranges", "bytes")
    start = _range_start(handler.headers.get("Range"))
    status = 200
    if start is not None and handler.command == "GET":
        if start >= len(data):
            send(handler, 416, headers={"Content-Range": f"bytes */{len(data)}"})
            return
        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        data, status = data[start:], 206
    fault = server._take_fault(handler.path) if handler.command == "GET" else None
    if fault is not None and fault.kind == "slow":
        time.sleep(fault.delay)
        fault = None
    if fault is None:
        send(handler, status, data, headers)
    elif fault.kind == "status":
        send(handler, fault.status, headers={"Retry-After": "0"})
    elif fault.kind == "corrupt":
        send(handler, status, bytes(b ^ 0xFF for b in data[:64]) + data[64:], headers)
    elif fault.kind == "truncate":
        send(handler, status, data[: len(data) // 2], headers)
    elif fault.kind == "drop":
        send(handler, status, data[: len(data) // 2], headers, length=len(data))
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
    else:
        raise ValueError(f"unknown fault kind {fault.kind!r}")


def _range_start(value: str | None) -> int | None:
    if not value or not value.startswith("bytes=") or not value.endswith("-"):
        return None
    try:
        return int(value[len("bytes=") : -1])
    except ValueError:
        return None


class LoopbackUpstream(LoopbackServer):
    """A plain file server, standing in for the official download sites.

    Example:
        >>> with LoopbackUpstream() as upstream:
        ...     url = upstream.add_file("models/horse2zebra.pth", data)
    """

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

    def add_file(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``/path``; returns its URL."""
        path = "/" + path.lstrip("/")
        self.files[path] = data
        return self.url + path

    def add_tar(self, path: str, members: Mapping[str, bytes]) -> str:
        """Serve a tar archive holding ``members`` (name → bytes); returns its URL."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return self.add_file(path, buffer.getvalue())

    def add_zip(self, path: str, members: Mapping[str, bytes]) -> str:
        """Serve a zip archive holding ``members`` (name → bytes); returns its URL."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return self.add_file(path, buffer.getvalue())

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if handler.command not in ("GET", "HEAD") or path not in self.files:
            send(handler, 404, b"not found")
            return
        send_file(self, handler, self.files[path], {"Content-Type": "application/octet-stream"})
