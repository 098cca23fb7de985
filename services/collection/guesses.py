"""How many invalid link tokens one client may try before the app stops looking tokens up for it.

A token has 256 random bits, so guessing one is hopeless; the limit keeps a flood of guesses from costing database
lookups and makes scanning visible in the log. It is kept per app process (several processes behind a proxy each
keep their own count), so the proxy's own rate limit stays the first line (docs/OPERATIONS.md).
"""

import ipaddress
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_INVALID = 20  # invalid tokens per client and window; a partner mistyping a link never gets near it
WINDOW_SECONDS = 15 * 60
MAX_CLIENTS = 10_000  # the oldest client is forgotten beyond this, so memory stays bounded under a spoofed flood


class GuessLimit:
    """Invalid token attempts per client address within a sliding window."""

    def __init__(self, *, limit: int = MAX_INVALID, window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        """True while the client has used up its invalid attempts: its tokens are not looked up at all."""
        with self._lock:
            return len(self._recent(client, self.clock())) >= self.limit

    def failed(self, client: str) -> None:
        """Count one invalid token from the client."""
        with self._lock:
            now = self.clock()
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
            if len(times) == self.limit:
                log.warning("link tokens: %s tried %d invalid links within %d minutes; its links are not looked up "
                            "until the window passes", client, self.limit, self.window // 60)


LIMIT = GuessLimit()


def client_address(*, peer: str | None, forwarded_for: str | None) -> str:
    """The address a request came from: the peer's, or, when the peer is this machine (the reverse proxy of
    docs/OPERATIONS.md), the last X-Forwarded-For entry, which that proxy appended. Entries a client sent itself
    come earlier in the header and are ignored, so they cannot dodge the limit."""
    local = peer is None or _is_loopback(peer)
    if local and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last
    return peer or "127.0.0.1"  # Streamlit gives None for a browser on localhost


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
