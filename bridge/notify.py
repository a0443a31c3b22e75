"""systemd's service notification protocol (sd_notify), for a `Type=notify` unit.

Each message is one datagram of `KEY=VALUE` lines sent to the AF_UNIX socket named by
`NOTIFY_SOCKET` (a leading `@` means the abstract namespace). Without that variable, as
outside systemd, every call does nothing. The watchdog is on when systemd sets
`WATCHDOG_USEC` (and `WATCHDOG_PID`, when set, is this process); the daemon then pings
at half that period, as sd_watchdog_enabled(3) advises.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("bridge.notify")


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if path.startswith("@"):
            self.address = "\0" + path[1:]
        elif path.startswith("/"):
            self.address = path
        self.watchdog_interval: float | None = _watchdog_interval(env)
        self._next_ping = 0.0
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send one message; False (and one warning per process) when it cannot be sent:
        a missed notification must not stop the daemon, systemd's timeouts will tell."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at NOTIFY_SOCKET: %s", exc.strerror or exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def reloading(self) -> bool:
        # systemd 253+ matches a reload by the monotonic time it began
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")

    def ping_watchdog(self) -> bool:
        """WATCHDOG=1 when half the watchdog period has passed since the last ping."""
        if self.watchdog_interval is None or self.address is None:
            return False
        now = time.monotonic()
        if now < self._next_ping:
            return False
        self._next_ping = now + self.watchdog_interval
        return self.send("WATCHDOG=1")


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half the watchdog period in seconds, or None when no watchdog is asked of us."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid.strip() != str(os.getpid())):
        return None
    return usec / 2 / 1_000_000
