"""API keys of the HTTP API: stored as SHA-256 hashes, named, each with its own rate limit.

The keys file (TOML, named by ``$ECL_API_KEYS_FILE``) holds one table per key::

    [[keys]]
    name = "ci"                  # goes into the run's tags (ecl/api_key) and the audit log
    sha256 = "9f86d08...c15d0"   # hex SHA-256 of the key; the key itself is never stored
    requests_per_minute = 120    # optional; default 120

``ecl server new-key NAME`` makes a key (``ecl_`` and 43 URL-safe characters: 256 random
bits, so an unsalted SHA-256 is enough, as for GitHub's tokens) and prints its entry.
A presented key is hashed and compared with every configured hash in constant time
(``hmac.compare_digest``); which key matched, or whether one did, does not change the
time taken.
"""

import hashlib
import hmac
import re
import secrets
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate

from ecl_core.errors import ConfigError

__all__ = ["KEYS_FILE_VARIABLE", "ApiKey", "KeyRing", "hash_key", "load_keys", "new_key"]

KEYS_FILE_VARIABLE = "ECL_API_KEYS_FILE"
DEFAULT_REQUESTS_PER_MINUTE = 120
MAX_REQUESTS_PER_MINUTE = 100_000
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ApiKey:
    """A configured key: its name, the SHA-256 of its value, its requests per minute."""

    name: str
    sha256: str
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key, as the keys file stores it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key(name: str) -> tuple[str, str]:
    """A new random key named ``name``: (the key, shown once; its keys-file entry).

    Raises:
        ConfigError: ``name`` is not 1 to 64 of ``A-Z a-z 0-9 _ . @ -``.
    """
    _check_name(name, "name")
    key = "ecl_" + secrets.token_urlsafe(32)
    entry = f'[[keys]]\nname = "{name}"\nsha256 = "{hash_key(key)}"\n'
    return key, entry


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: a key's name is 1 to 64 of A-Z a-z 0-9 _ . @ -, "
                          f"not {name!r}")
    return name


def load_keys(path: Path) -> list[ApiKey]:
    """The keys of a keys file (module docstring).

    Raises:
        ConfigError: The file cannot be read or parsed, or an entry is malformed; the
            message names the file, the entry and the field (never a hash's value).
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{KEYS_FILE_VARIABLE} {path}: {err}") from None
    entries = document.get("keys", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'keys' must be an array of tables ([[keys]])")
    keys: list[ApiKey] = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: keys entry {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(entry) - {"name", "sha256", "requests_per_minute"}
        if unknown:
            raise ConfigError(f"{where}: unknown fields {sorted(unknown)} (the file holds "
                              "hashes only: name, sha256, requests_per_minute)")
        name = _check_name(entry.get("name"), f"{where}, name")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _HEX.match(digest):
            raise ConfigError(f"{where} ({name}), sha256: 64 lowercase hex characters "
                              "(`ecl server new-key` prints one)")
        rate = entry.get("requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE)
        if not isinstance(rate, int) or not 1 <= rate <= MAX_REQUESTS_PER_MINUTE:
            raise ConfigError(f"{where} ({name}), requests_per_minute: an integer from 1 to "
                              f"{MAX_REQUESTS_PER_MINUTE:,}, not {rate!r}")
        if any(k.name == name for k in keys):
            raise ConfigError(f"{where}: the name {name!r} is used twice")
        keys.append(ApiKey(name, digest, rate))
    return keys


class KeyRing:
    """The configured keys, and a request-per-minute limiter for each (in this process).

    Args:
        keys: The keys; with none, every request with a key is refused.
    """

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys
        # pyrate-limiter's non-blocking acquire also gives up when another thread holds its
        # lock: two requests at once would get a 429 far below the rate (docs/dagster-notes.md).
        self._admitting = threading.Lock()
        self._limiters = {
            k.name: Limiter(InMemoryBucket([Rate(k.requests_per_minute, Duration.MINUTE)]))
            for k in keys
        }

    def match(self, presented: str) -> ApiKey | None:
        """The key whose hash is the presented key's, compared with every key in constant time."""
        digest = hash_key(presented).encode("ascii")
        found = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.sha256.encode("ascii")):
                found = key
        return found

    def admit(self, key: ApiKey) -> bool:
        """Whether ``key`` may make one more request now (its requests per minute)."""
        with self._admitting:
            return bool(self._limiters[key.name].try_acquire(key.name, blocking=False))
