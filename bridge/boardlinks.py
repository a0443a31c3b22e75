"""Where a transition's page lives on the board: shared by the board (bridge/web) and the
gate line pushed into the tools, which links to it when `web.public_url` is set."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def transition_page(transition_id: str) -> str:
    """The page name of a transition: readable, and distinct for ids that read alike."""
    digest = hashlib.sha256(transition_id.encode()).hexdigest()[:8]
    return f"transition-{_UNSAFE.sub('_', transition_id)[:60]}-{digest}.html"


def transition_url(public_url: str | None, transition_id: str) -> str | None:
    """The transition's page at the board's public address; None without one."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/{transition_page(transition_id)}"
