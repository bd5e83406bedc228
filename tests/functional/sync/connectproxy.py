"""A small CONNECT proxy on loopback that records every tunnel it opens (for the tests that a
sync's HTTPS traffic goes through the proxy the environment names, or bypasses it)."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class ConnectProxy:
    """Answers `CONNECT host:port` with a tunnel (or with `deny`, e.g. 407, when set);
    anything else with 405. Loopback only."""

    deny: int | None = None
    tunnels: list[str] = field(default_factory=list)  # the CONNECT targets, in order
    refused: list[str] = field(default_factory=list)  # request lines it did not tunnel
    credentials: list[str] = field(default_factory=list)  # Proxy-Authorization values seen

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        head = b""
        with client:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            line, *fields = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            for name, _, value in (f.partition(":") for f in fields):
                if name.strip().lower() == "proxy-authorization":
                    self.credentials.append(value.strip())
            method, _, rest = line.partition(" ")
            target = rest.rsplit(" ", 1)[0]
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host not in ("127.0.0.1", "localhost"):
                self.refused.append(line)
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.deny is not None:
                client.sendall(f"HTTP/1.1 {self.deny} Denied\r\nContent-Length: 0\r\n\r\n".encode())
                return
            self.tunnels.append(target)
            with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._spawn(_pipe, upstream, client)
                _pipe(client, upstream)

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side closes (bounded by the sockets' 10 s timeouts)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
