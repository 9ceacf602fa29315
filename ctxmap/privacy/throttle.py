"""Sign-in throttling: failed attempts per user and per client, with exponential back-off.

After :attr:`SignInThrottle.free` failures for a key (a username, a client address), each
further attempt for that key must wait ``base_s * 2 ** (failures - free)`` seconds (at
most ``cap_s``) after the last failure; the wait is the longest of the user's and the
client's. A successful sign-in clears the *user's* count (not the client's: one good
password must not reset an attacker's address). Counts older than ``forget_s`` are
forgotten.

Where the state lives: in this server process, in a dict behind a lock
(:data:`SIGN_IN_THROTTLE`). Streamlit serves every browser session of one server from one
process, so every attempt is counted, whichever session makes it; the state is lost when
the server restarts, and several server processes behind a load balancer each keep their
own (then put the throttle in the proxy, or run one process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

#: Failures allowed before any wait.
FREE_FAILURES: Final = 3


@dataclass
class SignInThrottle:
    """Failed sign-ins per key, with exponential back-off (thread-safe).

    Parameters
    ----------
    free
        Failures allowed per key before the first wait.
    base_s
        The first wait, seconds; each further failure doubles it.
    cap_s
        The longest wait, seconds.
    forget_s
        A key with no failure for this long starts again from nothing.
    clock
        Seconds, monotonic (tests give their own).
    """

    free: int = FREE_FAILURES
    base_s: float = 2.0
    cap_s: float = 900.0
    forget_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _delay(self, count: int) -> float:
        if count < self.free:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2 ** min(count - self.free, 30)))

    def wait_s(self, *keys: str) -> float:
        """Seconds to wait before the next attempt for any of ``keys`` (0: go ahead)."""
        now = self.clock()
        with self._lock:
            waits = [0.0]
            for key in keys:
                count, last = self._failures.get(key, (0, now))
                if now - last > self.forget_s:
                    self._failures.pop(key, None)
                    continue
                waits.append(last + self._delay(count) - now)
            return max(0.0, *waits)

    def failed(self, *keys: str) -> None:
        """Count one failed attempt for each of ``keys``."""
        now = self.clock()
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, now))
                if now - last > self.forget_s:
                    count = 0
                self._failures[key] = (count + 1, now)

    def succeeded(self, key: str) -> None:
        """Forget the failures of ``key`` (the user who just signed in)."""
        with self._lock:
            self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        """How many failures ``key`` has now (0 if none or forgotten)."""
        with self._lock:
            return self._failures.get(key, (0, 0.0))[0]


def user_key(name: str) -> str:
    """The throttle key of a username (case and padding ignored)."""
    return "user:" + name.strip().lower()


def client_key(address: str | None) -> str:
    """The throttle key of a client address (all unknown addresses share one key)."""
    return "client:" + (address or "unknown")


#: The server process's throttle (see the module docstring for where its state lives).
SIGN_IN_THROTTLE: Final = SignInThrottle()
