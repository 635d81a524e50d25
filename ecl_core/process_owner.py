"""Who holds a claim in ECL's tables: a process, named so that another can tell it is gone.

An owner is ``<host>:<pid>:<8 hex digits>``. A claim is given up when its owner's process no
longer exists on this host, or when it is older than a lease (its owner may be on another
host, or its pid reused).
"""

import os
import socket
import uuid

from ecl_core.bounds import whole_number

__all__ = ["new_owner", "owner_gone"]


def new_owner() -> str:
    """A fresh owner name for this process: ``<host>:<pid>:<8 hex digits>``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(owner: str, claimed_at: float, now: float, lease_s: float) -> bool:
    """Whether a claim made by ``owner`` at ``claimed_at`` (seconds since the epoch) lapsed.

    True when the claim is older than ``lease_s`` seconds, or its owner ran on this host and
    its process has died.
    """
    if now - claimed_at > lease_s:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    number = whole_number(pid)
    return host == socket.gethostname() and number is not None and not _pid_alive(number)
