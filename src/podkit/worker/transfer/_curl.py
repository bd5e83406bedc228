"""The transfer engine's wire: libcurl through pycurl.

Metadata requests and small files: each thread of the engine drives its own libcurl multi
handle, and a response's body is pulled by `read_blocks()`: the calling thread runs the multi
handle only while it holds fewer bytes than it asked for, so a request takes no lock and a slow
disk holds the socket back as a blocking read would. One run takes what the socket holds (its
receive buffer, a few MiB at most), so that is what a transfer may hold unread; pausing
libcurl instead (CURL_WRITEFUNC_PAUSE) was measured to stall a capped HTTP/1.1 stream for a
timer's length after every resume (3 MB/s). The multi handle keeps the thread's connections
alive between requests (one thread, one set of connections, as the connection budget counts
them). Byte-range streams (`driven`) all run on one loop thread instead (`_driver`), their
bodies handed to the sink each caller gives. One share handle lets every multi handle resume
the TLS sessions and reuse the DNS answers of the others.

What libcurl brings: proxies (`proxies` reads them from the sync's environment as curl
would), content decoding where a caller asks for it, happy eyeballs (IPv6 and IPv4
raced), HTTP/2 where a TLS origin offers it (a caller may ask for HTTP/1.1: a long byte-range
stream costs less CPU per byte there), and the HTTP/1.1 framing (chunked bodies, 1xx
answers, stale kept-alive connections). A body reaches Python as the blocks libcurl hands
over, appended by a C call (`list.append`, no Python frame per block) and counted when the
reader looks (`_response.py`, with the failures in words). Redirects are not followed
here: the engine decides which headers may follow a request to another origin.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING
from urllib.parse import quote

import pycurl

from podkit.worker.transfer._response import BUFFER, Response
from podkit.worker.transfer.proxies import Proxies
from podkit.worker.transfer.trust import CaBundle

if TYPE_CHECKING:
    from podkit.worker.transfer._driver import Driver

_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")
_HTTP2 = pycurl.CURL_HTTP_VERSION_2TLS  # HTTP/2 over TLS where offered, HTTP/1.1 otherwise
_POLL = 0.5  # the longest wait in select(): the stall clock is checked at least this often

# A libcurl name that pycurl 7.49 does not export (its value from curl/curl.h).
_SUPPRESS_CONNECT_HEADERS = 265  # a proxy's "200 Connection established" is not the answer


def quote_url(url: str) -> str:
    """The URL with spaces, controls and non-ASCII characters percent-encoded (libcurl
    refuses them; a listing may hold such names)."""
    if url.isascii() and url.isprintable() and " " not in url:
        return url  # the common case, without the regular expression's scan
    return _UNSAFE_IN_URL.sub(lambda found: quote(found.group()), url)


class _Setup:
    """One request's options: those of the request itself, set on every use of a handle, and
    those a reused handle keeps while they stay the same (`options`, compared)."""

    def __init__(
        self,
        url: str,
        lines: list[str],
        options: tuple[str, bool, CaBundle | None, str, bool],
        proxies: Proxies,
    ) -> None:
        self.url = url
        self.lines = lines
        self.options = options
        self._proxies = proxies

    def request(self, easy: pycurl.Curl) -> None:
        easy.setopt(pycurl.URL, self.url)
        easy.setopt(pycurl.HTTPHEADER, self.lines)

    def options_for(self, easy: pycurl.Curl) -> None:
        method, decode, bundle, proxy, http2 = self.options
        easy.setopt(pycurl.HTTP_VERSION, _HTTP2 if http2 else pycurl.CURL_HTTP_VERSION_1_1)
        if method == "HEAD":
            easy.setopt(pycurl.NOBODY, 1)
        else:
            easy.setopt(pycurl.HTTPGET, 1)
            if method != "GET":
                easy.setopt(pycurl.CUSTOMREQUEST, method)
        if method in ("GET", "HEAD"):
            easy.unsetopt(pycurl.CUSTOMREQUEST)
        if decode:
            easy.setopt(pycurl.ACCEPT_ENCODING, "")
        else:
            easy.unsetopt(pycurl.ACCEPT_ENCODING)
        easy.setopt(pycurl.HTTP_CONTENT_DECODING, 1 if decode else 0)
        if bundle is not None:
            _trust(easy, bundle)
        # Always set: "" keeps libcurl from reading the process environment itself.
        easy.setopt(pycurl.PROXY, proxy)
        if proxy:
            easy.setopt(pycurl.NOPROXY, self._proxies.no_proxy)


class _Lane:
    """One thread's multi handle, its kept-alive connections and idle easy handles."""

    def __init__(self, configure: Callable[[pycurl.Curl], None]) -> None:
        self.multi = pycurl.CurlMulti()
        self._configure = configure
        self._idle: list[pycurl.Curl] = []
        self._active: dict[pycurl.Curl, Response] = {}
        self._set_for: dict[pycurl.Curl, Hashable] = {}  # what each handle's options were for
        self._finished: list[Response] = []  # `whole` ones complete since the last `step`

    @property
    def active(self) -> bool:
        return bool(self._active)

    def start(
        self,
        setup: _Setup,
        stall: float,
        clock: Callable[[], float],
        whole: int | None = None,
        make: Callable[[_Lane, pycurl.Curl], Response] | None = None,
    ) -> Response:
        """A transfer on this thread's multi handle. `whole`: the body is only taken whole
        (`Response.body`), at most that many bytes, and only the status is kept of the head,
        so libcurl hands both to C callables instead of Python methods (small files feel
        it). `make`: builds the response (a driven one) instead of a plain `Response`."""
        easy = self._idle.pop() if self._idle else self._new_easy()
        if make is not None:
            response = make(self, easy)
        else:
            response = Response(self, easy, stall, clock, whole=whole is not None)
        setup.request(easy)
        options = (setup.options, whole is None)
        if self._set_for.get(easy) != options:  # a reused handle keeps what it was set to
            self._set_for[easy] = options
            setup.options_for(easy)
            # Many transfers at once on one multi handle wait for the first connection to
            # say whether it multiplexes (HTTP/2) rather than each making one: one handshake.
            easy.setopt(pycurl.PIPEWAIT, 0 if whole is None else 1)
            if whole is None:
                easy.setopt(pycurl.MAXFILESIZE_LARGE, 0)  # no limit
        if whole is not None:
            # A longer body (announced, or as it arrives) fails the transfer.
            easy.setopt(pycurl.MAXFILESIZE_LARGE, max(1, whole))
            easy.setopt(pycurl.HEADERFUNCTION, len)  # len(line): "all of it taken"
            easy.setopt(pycurl.WRITEFUNCTION, response._chunks.append)
        else:
            easy.setopt(pycurl.HEADERFUNCTION, response._on_header)
            easy.setopt(pycurl.WRITEFUNCTION, response._arrived.append)
        self._active[easy] = response
        self.multi.add_handle(easy)
        return response

    def _new_easy(self) -> pycurl.Curl:
        easy = pycurl.Curl()
        self._configure(easy)
        return easy

    def step(self) -> list[Response]:
        """Move every transfer of this thread on; wait for its sockets when nothing moved.
        The `whole` transfers that completed, so a loop of many need not look at them all."""
        drive_multi(self)
        wait = self.multi.timeout()
        if wait != 0:
            self.multi.select(_POLL if wait < 0 else min(_POLL, wait / 1000))
            drive_multi(self)
        finished, self._finished = self._finished, []
        return finished

    def _collect(self) -> None:
        active = self._active
        while True:
            queued, done, failed = self.multi.info_read()
            for easy in done:
                self._finish(active.get(easy), 0, "")
            for easy, code, message in failed:
                self._finish(active.get(easy), code, message)
            if not queued:
                return

    def _finish(self, response: Response | None, code: int, message: str) -> None:
        if response is not None:
            response._finish(code, message)
            if response._whole:
                self._finished.append(response)

    def give_back(self, easy: pycurl.Curl, *, kept: bool) -> None:
        """Take a transfer off the multi handle (an unfinished one loses its connection)."""
        self._active.pop(easy, None)
        self.multi.remove_handle(easy)
        easy.setopt(pycurl.HEADERFUNCTION, _ignore)
        easy.setopt(pycurl.WRITEFUNCTION, _ignore)
        if kept:
            self._idle.append(easy)
        else:
            # A transfer cut short may leave its connection in an unknown state: a fresh
            # easy handle, and the multi handle closes the connection it no longer tracks.
            self._set_for.pop(easy, None)
            easy.close()

    def close(self) -> None:
        for easy in list(self._active):
            self.give_back(easy, kept=False)
        for easy in self._idle:
            easy.close()
        self._idle.clear()
        self._set_for.clear()
        self.multi.close()


def drive_multi(lane: _Lane) -> None:
    """Let libcurl move every transfer of the lane as far as its sockets allow now, and mark
    the ones that ended."""
    multi = lane.multi
    while True:
        code, _ = multi.perform()
        if code != pycurl.E_CALL_MULTI_PERFORM:
            break
    lane._collect()


def _trust(easy: pycurl.Curl, bundle: CaBundle) -> None:
    # Set with every https request's options: a handle may have served plain http before. libcurl
    # keeps the parsed store per multi handle, so this costs no re-read of the file.
    if bundle.file:
        easy.setopt(pycurl.CAINFO, bundle.file)
    else:
        easy.unsetopt(pycurl.CAINFO)
    if bundle.directory:
        easy.setopt(pycurl.CAPATH, bundle.directory)
    else:
        easy.unsetopt(pycurl.CAPATH)


def _ignore(_: bytes) -> None:
    return None


class Pool:
    """Per-thread multi handles over one share handle (TLS sessions, DNS). `timeout` is the
    stall timeout: seconds of `clock()` without a byte before a response fails."""

    def __init__(
        self,
        *,
        timeout: float,
        trust: Callable[[], CaBundle],
        proxies: Proxies = Proxies(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout, self._clock = timeout, clock
        self._proxies = proxies
        self._trust = trust  # called once, on the first https request (it may raise)
        self._bundle: CaBundle | None = None
        self._share = pycurl.CurlShare()
        self._share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_SSL_SESSION)
        self._share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
        self._local = threading.local()
        self._lanes: set[_Lane] = set()
        self._driver: Driver | None = None
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        decode: bool = False,
        http2: bool = True,
        driven: bool = False,
    ) -> Response:
        """Send a request; the response once its headers are in (the body still to read).

        `decode`: ask for any content encoding and decode it; otherwise none is asked for and
        the body comes as the server sends it (as stored, for a caller's own Accept-Encoding).
        `http2`: take HTTP/2 where a TLS origin offers it; False for a long byte-range stream,
        which has a connection of its own either way and costs less CPU per byte over
        HTTP/1.1 (a callback per 16 KiB TLS record, not per 8-16 KiB DATA frame, and no flow
        control to answer).
        `driven`: a long stream for the loop thread, its body taken by `Response.drain`.
        """
        if driven:
            setup = self._setup(method, url, headers, decode=decode, http2=http2)
            return self._driven().start(setup, self._timeout, self._clock)
        response = self.begin(method, url, headers, decode=decode, http2=http2)
        response.wait_for_head()
        return response

    def begin(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        decode: bool = False,
        whole: int | None = None,
        http2: bool = True,
    ) -> Response:
        """Add a request to the calling thread's transfers without waiting for it: `step`
        moves it on with the others, and it is `complete` once its body is all in.
        `whole`: see `_Lane.start` (no headers but the status, the body whole by `body()`,
        at most `whole` bytes of it)."""
        setup = self._setup(method, url, headers, decode=decode, http2=http2)
        return self._lane().start(setup, self._timeout, self._clock, whole=whole)

    def _setup(
        self, method: str, url: str, headers: dict[str, str], *, decode: bool, http2: bool
    ) -> _Setup:
        lines = [f"{name}: {value}" for name, value in headers.items()]
        for line in lines:
            if "\r" in line or "\n" in line:
                raise ValueError(f"header {line.partition(':')[0]!r} holds a line break")
        bundle = self._ca_bundle() if url[:6].lower() == "https:" else None
        proxy = self._proxies.for_url(url)
        options = (method, decode, bundle, proxy, http2)
        return _Setup(quote_url(url), lines, options, self._proxies)

    def _driven(self) -> Driver:
        with self._lock:
            if self._driver is None:
                from podkit.worker.transfer._driver import Driver

                self._driver = Driver(self._configure)
            return self._driver

    def step(self) -> list[Response]:
        """Move every transfer of the calling thread on (waiting at most a poll's length);
        the `whole` ones that completed."""
        return self._lane().step()

    def _lane(self) -> _Lane:
        lane: _Lane | None = getattr(self._local, "lane", None)
        if lane is None:
            lane = self._local.lane = _Lane(self._configure)
            with self._lock:
                self._lanes.add(lane)
        return lane

    def _ca_bundle(self) -> CaBundle:
        if self._bundle is None:
            with self._lock:
                if self._bundle is None:
                    self._bundle = self._trust()
        return self._bundle

    def _configure(self, easy: pycurl.Curl) -> None:
        easy.setopt(pycurl.NOSIGNAL, 1)
        easy.setopt(pycurl.SHARE, self._share)
        easy.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        easy.setopt(pycurl.FOLLOWLOCATION, 0)
        easy.setopt(_SUPPRESS_CONNECT_HEADERS, 1)
        easy.setopt(pycurl.CONNECTTIMEOUT_MS, int(min(10.0, self._timeout) * 1000))
        easy.setopt(pycurl.BUFFERSIZE, BUFFER)
        easy.setopt(pycurl.TCP_KEEPALIVE, 1)

    def release_thread(self) -> None:
        """Close the calling thread's kept-alive connections: it is leaving, and nobody else
        may use them (they would stay open until `close`)."""
        lane: _Lane | None = getattr(self._local, "lane", None)
        if lane is None:
            return
        self._local.lane = None
        with self._lock:
            self._lanes.discard(lane)
        lane.close()

    def close(self) -> None:
        with self._lock:
            lanes, self._lanes = self._lanes, set()
            driver = self._driver
        if driver is not None:
            driver.close()
        for lane in lanes:
            lane.close()
        self._share.close()
