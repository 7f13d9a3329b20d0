"""Whether a process still runs: how background jobs that died with their process are told apart."""

from __future__ import annotations

import os


def process_alive(pid: int | None) -> bool:
    """True when a process with this id exists (another user's counts: it is alive)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
