"""Small helpers the test folders share."""

from __future__ import annotations

import os


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any SMO_BRIDGE_* variable, plus `extra`: a child
    `smo-bridge` then finds only the configuration the test gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMO_BRIDGE")}
    env.update(extra)
    return env
