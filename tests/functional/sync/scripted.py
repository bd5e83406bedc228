"""A scripted HTTP server on loopback: each request answered with bytes a test writes, sent
in pieces where it says, then the connection kept, closed or held silent; and a clock that
moves at each reading, for stall timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# An answer is the bytes to send for one request (or a list of pieces, sent with a pause
# between them so that each arrives in a read of its own), then what to do with the
# connection: "keep" it for the next request, "close" it, or "hold" it open and silent.
Answer = tuple[bytes | list[bytes], str]


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    connection: int


@dataclass
class ScriptedServer:
    """Answers each request with `script(seen)`; records requests and connections."""

    script: Callable[[Seen], Answer]
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    closed_by_client: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            self.connections += 1
            number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(10)
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:  # reset by the client
                        data = b""
                    if not data:
                        self.closed_by_client.append(number)
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = line.split(" ")
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
                seen = Seen(method, target, headers, number)
                self.seen.append(seen)
                payload, then = self.script(seen)
                try:
                    for index, piece in enumerate(
                        [payload] if isinstance(payload, bytes) else payload
                    ):
                        if index:
                            time.sleep(0.05)
                        conn.sendall(piece)
                except OSError:  # the client closed it mid-answer
                    self.closed_by_client.append(number)
                    return
                if then == "hold":
                    self._stop.wait(5)
                if then != "keep":
                    return

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()


class Ticks:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.step, self.now = step, 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now
