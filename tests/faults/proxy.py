"""A TCP proxy that a fault-injection test controls while blocking clients talk through it.

Each ``Proxy`` runs one selector loop in a daemon thread, so a test written with blocking
redis-py can cut, blackhole or delay the link under its own feet. Side ``a`` is whoever
connects to the proxy, side ``b`` is the target; ``"a->b"`` names the bytes a sends to b.

Fault semantics, chosen to look like a network and not like a crashed peer:

* ``cut()``: every connection is reset (RST on both sides) and new ones are accepted and
  reset at once, so clients see ``ConnectionResetError``/``ConnectionError`` quickly.
* ``blackhole()``: the proxy stops reading from the silenced side and stops writing to the
  other, so TCP flow control makes the sender stall exactly as with lost packets and ACKs.
  Nothing is discarded; a connection made during a blackhole is accepted (its ``connect()``
  succeeds) but never reaches the target.
* ``heal()``: back to plain forwarding. Connections that lived through a blackhole are
  reset, as a partition long enough to notice would have timed them out, and a stream whose
  peer saw silence is not trustworthy. ``heal(resume=True)`` instead delivers what was held,
  the short partition that TCP retransmission survives (stale messages arrive late).
"""
from __future__ import annotations

import errno
import heapq
import itertools
import random
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

Address = tuple[str, int]
Direction = Literal["a->b", "b->a", "both"]

_DIRECTIONS = ("a->b", "b->a")
_CHUNK = 256 * 1024
_BUFFER_LIMIT = 1 << 20
_LISTENER = object()
_WAKER = object()
_R, _W = selectors.EVENT_READ, selectors.EVENT_WRITE


def _directions(direction: str) -> tuple[str, ...]:
    if direction == "both":
        return _DIRECTIONS
    if direction in _DIRECTIONS:
        return (direction,)
    raise ValueError(f"direction must be 'a->b', 'b->a' or 'both', not {direction!r}")


def _reset(sock: socket.socket | None) -> None:
    """Close with SO_LINGER 0 so the peer gets an RST, not a polite FIN it could mistake for EOF."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class _Pipe:
    """Bytes travelling one way on one connection, each chunk with the time it may leave."""

    __slots__ = ("queue", "queued", "eof", "shut", "held", "last_release")

    def __init__(self, held: bool) -> None:
        self.queue: deque[list] = deque()
        self.queued = 0
        self.eof = False
        self.shut = False
        self.held = held
        self.last_release = 0.0


class _Link:
    __slots__ = ("a", "b", "connected", "limbo", "tainted", "closed", "pipes", "masks")

    def __init__(self, a: socket.socket, held: Mapping[str, bool]) -> None:
        self.a = a
        self.b: socket.socket | None = None
        self.connected = False
        self.limbo = False
        self.tainted = any(held.values())
        self.closed = False
        self.pipes = {d: _Pipe(held[d]) for d in _DIRECTIONS}
        self.masks = {"a": 0, "b": 0}


class Proxy:
    """One listening port forwarding every connection to ``target``, with faults on demand."""

    def __init__(self, target: Address, listen_port: int = 0, *, host: str = "127.0.0.1",
                 name: str | None = None) -> None:
        self.target = target
        self.host = host
        self.name = name or f"proxy->{target[0]}:{target[1]}"
        self._listen_port = listen_port
        self._listener: socket.socket | None = None
        self._sel: selectors.BaseSelector | None = None
        self._thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._commands: list[tuple[Callable[[], None], threading.Event, list]] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._crash: BaseException | None = None
        self._links: set[_Link] = set()
        self._timers: list[tuple[float, int, _Link]] = []
        self._seq = itertools.count()
        self._cut = False
        self._held = {d: False for d in _DIRECTIONS}
        self._delay = {d: (0.0, 0.0) for d in _DIRECTIONS}
        self._rng = random.Random()
        self.bytes_forwarded = {d: 0 for d in _DIRECTIONS}
        self.connections_accepted = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return self._listener.getsockname()[1]

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def start(self) -> Proxy:
        """Listen and forward; after a ``stop()`` this listens on the same port again."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._listen_port))
        listener.listen(1024)
        listener.setblocking(False)
        self._listener = listener
        self._listen_port = listener.getsockname()[1]
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(listener, _R, _LISTENER)
        self._sel.register(self._wake_r, _R, _WAKER)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Reset every connection and free the port; idempotent."""
        if self._thread is None:
            return
        if self._crash is None:
            self._call(self._shutdown)
        else:
            self._listener.close()
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connections(self) -> int:
        """Connections currently open through the proxy (limbo ones included)."""
        return len(self._links)

    # -- faults ---------------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection now and reset each new one as soon as it is accepted."""
        def apply() -> None:
            self._cut = True
            for link in list(self._links):
                self._abort(link)
        self._call(apply)

    def blackhole(self, direction: Direction = "both") -> None:
        """Forward nothing in ``direction``: silence, with the sockets left open."""
        dirs = _directions(direction)

        def apply() -> None:
            for d in dirs:
                self._held[d] = True
            for link in list(self._links):
                link.tainted = True
                for d in dirs:
                    link.pipes[d].held = True
                self._update(link)
        self._call(apply)

    def delay(self, seconds: float, direction: Direction = "both", jitter: float = 0.0) -> None:
        """Hold every chunk read from now on for ``seconds`` (+ up to ``jitter``) before sending.

        Order within a connection is kept, so jitter stretches gaps but never reorders bytes.
        ``delay(0)`` removes the latency without touching a blackhole or a cut.
        """
        if seconds < 0 or jitter < 0:
            raise ValueError("delay and jitter must be >= 0")
        dirs = _directions(direction)

        def apply() -> None:
            for d in dirs:
                self._delay[d] = (seconds, jitter)
        self._call(apply)

    def heal(self, resume: bool = False) -> None:
        """Forward normally again, with no delay.

        Connections that saw a blackhole are reset unless ``resume`` is true, in which case
        the bytes held during the blackhole are delivered now, late but intact.
        """
        def apply() -> None:
            self._cut = False
            self._held = {d: False for d in _DIRECTIONS}
            self._delay = {d: (0.0, 0.0) for d in _DIRECTIONS}
            for link in list(self._links):
                if link.tainted and not resume:
                    self._abort(link)
                    continue
                link.tainted = False
                for pipe in link.pipes.values():
                    pipe.held = False
                    pipe.last_release = 0.0
                    for chunk in pipe.queue:
                        chunk[0] = 0.0
                if link.limbo:
                    link.limbo = False
                    self._connect(link)
                if not link.closed:
                    self._pump(link)
        self._call(apply)

    # -- the loop thread ------------------------------------------------------------------

    def _call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread and wait, so a fault is in force when the call returns."""
        if self._crash is not None:
            raise RuntimeError(f"{self.name}: the proxy loop crashed") from self._crash
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            fn()
            return
        done = threading.Event()
        error: list[BaseException] = []
        with self._lock:
            self._commands.append((fn, done, error))
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if not done.wait(10):
            raise TimeoutError(f"{self.name}: the proxy loop did not answer")
        if error:
            raise error[0]

    def _loop(self) -> None:
        try:
            self._serve()
        except BaseException as exc:
            self._crash = exc
            raise

    def _serve(self) -> None:
        sel = self._sel
        while not self._stopping:
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            for key, mask in sel.select(timeout):
                tag = key.data
                if tag is _LISTENER:
                    self._accept()
                elif tag is _WAKER:
                    self._run_commands()
                else:
                    link, side = tag
                    if not link.closed:
                        self._service(link, side, mask)
            self._run_timers()
        sel.close()

    def _run_commands(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass
        with self._lock:
            commands, self._commands = self._commands, []
        for fn, done, error in commands:
            try:
                fn()
            except BaseException as exc:  # handed back to the calling thread
                error.append(exc)
            done.set()

    def _shutdown(self) -> None:
        self._stopping = True
        for link in list(self._links):
            self._abort(link)
        self._sel.unregister(self._listener)
        self._listener.close()
        self._sel.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, link = heapq.heappop(self._timers)
            if not link.closed:
                self._pump(link)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.connections_accepted += 1
            if self._cut:
                _reset(sock)
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(sock, self._held)
            self._links.add(link)
            if link.tainted:
                link.limbo = True
            else:
                self._connect(link)
            if not link.closed:
                self._update(link)

    def _connect(self, link: _Link) -> None:
        b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        b.setblocking(False)
        b.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link.b = b
        err = b.connect_ex(self.target)
        if err == 0:
            link.connected = True
        elif err not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            self._abort(link)
            return
        self._update(link)

    def _service(self, link: _Link, side: str, mask: int) -> None:
        if side == "b" and not link.connected:
            if link.b.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._abort(link)
                return
            link.connected = True
        if mask & _R:
            self._read(link, side)
        if not link.closed:
            self._pump(link)

    def _read(self, link: _Link, side: str) -> None:
        d = "a->b" if side == "a" else "b->a"
        pipe = link.pipes[d]
        src = link.a if side == "a" else link.b
        try:
            data = src.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._abort(link)
            return
        if not data:
            pipe.eof = True
            return
        now = time.monotonic()
        base, jitter = self._delay[d]
        release = now + base + (self._rng.uniform(0, jitter) if jitter else 0.0)
        release = max(release, pipe.last_release)
        pipe.last_release = release
        pipe.queue.append([release, memoryview(data)])
        pipe.queued += len(data)
        if release > now:
            heapq.heappush(self._timers, (release, next(self._seq), link))

    def _pump(self, link: _Link) -> None:
        """Send whatever is due both ways, pass on half-closes, then fix the selector masks."""
        for d in _DIRECTIONS:
            if link.closed:
                return
            self._flush(link, d)
        if link.closed:
            return
        if all(p.shut for p in link.pipes.values()):
            self._close(link)
            return
        self._update(link)

    def _flush(self, link: _Link, d: str) -> None:
        pipe = link.pipes[d]
        if pipe.held or not link.connected:
            return
        dst = link.b if d == "a->b" else link.a
        now = time.monotonic()
        while pipe.queue and pipe.queue[0][0] <= now:
            chunk = pipe.queue[0]
            try:
                sent = dst.send(chunk[1])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._abort(link)
                return
            pipe.queued -= sent
            self.bytes_forwarded[d] += sent
            if sent < len(chunk[1]):
                chunk[1] = chunk[1][sent:]
                return
            pipe.queue.popleft()
        if not pipe.queue and pipe.eof and not pipe.shut:
            pipe.shut = True
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _update(self, link: _Link) -> None:
        now = time.monotonic()
        ab, ba = link.pipes["a->b"], link.pipes["b->a"]

        def readable(pipe: _Pipe) -> bool:
            return not pipe.held and not pipe.eof and pipe.queued < _BUFFER_LIMIT

        def due(pipe: _Pipe) -> bool:
            return not pipe.held and bool(pipe.queue) and pipe.queue[0][0] <= now

        a_mask = b_mask = 0
        if not link.limbo:
            if readable(ab):
                a_mask |= _R
            if link.connected:
                if due(ba):
                    a_mask |= _W
                if readable(ba):
                    b_mask |= _R
                if due(ab):
                    b_mask |= _W
            elif link.b is not None:
                b_mask = _W
        self._set_mask(link, "a", link.a, a_mask)
        if link.b is not None:
            self._set_mask(link, "b", link.b, b_mask)

    def _set_mask(self, link: _Link, side: str, sock: socket.socket, mask: int) -> None:
        old = link.masks[side]
        if mask == old:
            return
        if old == 0:
            self._sel.register(sock, mask, (link, side))
        elif mask == 0:
            self._sel.unregister(sock)
        else:
            self._sel.modify(sock, mask, (link, side))
        link.masks[side] = mask

    def _forget(self, link: _Link) -> None:
        link.closed = True
        self._links.discard(link)
        for side, sock in (("a", link.a), ("b", link.b)):
            if link.masks[side]:
                self._sel.unregister(sock)
                link.masks[side] = 0

    def _abort(self, link: _Link) -> None:
        if link.closed:
            return
        self._forget(link)
        _reset(link.a)
        _reset(link.b)

    def _close(self, link: _Link) -> None:
        self._forget(link)
        link.a.close()
        if link.b is not None:
            link.b.close()


class ProxyMesh:
    """A proxy for every ordered pair of nodes: ``address(src, dst)`` is how src reaches dst.

    A connection belongs to the proxy of whoever opened it, and carries traffic both ways, so
    isolating two nodes means silencing both ``src->dst`` and ``dst->src`` proxies entirely.
    ``clients`` are extra sources (say ``"client"``) that only ever connect to nodes.
    """

    def __init__(self, nodes: Mapping[str, Address], clients: Iterable[str] = ()) -> None:
        self.nodes = dict(nodes)
        self.clients = list(clients)
        self.proxies: dict[tuple[str, str], Proxy] = {}
        for src in [*self.nodes, *self.clients]:
            for dst, addr in self.nodes.items():
                if src != dst:
                    self.proxies[(src, dst)] = Proxy(addr, name=f"proxy {src}->{dst}")

    def start(self) -> ProxyMesh:
        for proxy in self.proxies.values():
            proxy.start()
        return self

    def stop(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()

    def __enter__(self) -> ProxyMesh:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def proxy(self, src: str, dst: str) -> Proxy:
        return self.proxies[(src, dst)]

    def address(self, src: str, dst: str) -> Address:
        return self.proxies[(src, dst)].address

    def _between(self, x: str, y: str) -> list[Proxy]:
        return [p for pair in ((x, y), (y, x)) if (p := self.proxies.get(pair)) is not None]

    def partition(self, *groups: Iterable[str], mode: Literal["blackhole", "cut"] = "blackhole"
                  ) -> None:
        """Separate the groups from each other; names in no group keep all their links."""
        sets = [set(g) for g in groups]
        for i, left in enumerate(sets):
            for right in sets[i + 1:]:
                for x in left:
                    for y in right:
                        for proxy in self._between(x, y):
                            if mode == "cut":
                                proxy.cut()
                            else:
                                proxy.blackhole()

    def isolate(self, name: str, mode: Literal["blackhole", "cut"] = "blackhole") -> None:
        """Cut ``name`` off from every node and client."""
        others = [n for n in [*self.nodes, *self.clients] if n != name]
        self.partition([name], others, mode=mode)

    def block(self, src: str, dst: str) -> None:
        """Lose everything ``src`` sends to ``dst``, on connections opened by either of them."""
        if (src, dst) in self.proxies:
            self.proxies[(src, dst)].blackhole("a->b")
        if (dst, src) in self.proxies:
            self.proxies[(dst, src)].blackhole("b->a")

    def delay(self, seconds: float, between: tuple[str, str] | None = None,
              jitter: float = 0.0) -> None:
        """Add latency to the link between two names, or to every link."""
        proxies = self._between(*between) if between else list(self.proxies.values())
        for proxy in proxies:
            proxy.delay(seconds, jitter=jitter)

    def heal(self, resume: bool = False) -> None:
        for proxy in self.proxies.values():
            proxy.heal(resume=resume)
