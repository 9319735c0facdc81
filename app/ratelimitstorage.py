"""Redis rate-limit storage that answers a request's own counter without asking Redis again.

flask-limiter counts a call with one round trip (INCRBY), then reads the same counter back
twice (GET, TTL) to write the X-RateLimit-* headers: three round trips on every API call. This
storage counts with a script that returns the new count and its expiry together and keeps them
for the request that counted; reading that counter back within the same request answers from
them. Counting still happens in Redis, so every worker and host shares the limits; any other
read (a login's check before it counts, another request) still asks Redis."""

from __future__ import annotations

import time
import weakref
from typing import Any

from flask import has_request_context, request
from limits.storage import RedisStorage

SCHEME_PREFIX = "pilotslot+"

# The count after the increment and the key's remaining lifetime in milliseconds.
_INCR_EXPIRE_WITH_TTL = """
local current = redis.call("incrby", KEYS[1], tonumber(ARGV[2]))
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("pttl", KEYS[1])}
"""


class RequestCountingRedisStorage(RedisStorage):  # type: ignore[misc]
    """RedisStorage whose counts made by a request are read back by it from memory."""

    STORAGE_SCHEME = [f"{SCHEME_PREFIX}redis", f"{SCHEME_PREFIX}rediss"]

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(SCHEME_PREFIX), **options)
        # Per request object: {prefixed key: (count, expires at)}; gone with the request.
        self._counted: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, float]]] = (
            weakref.WeakKeyDictionary()
        )

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self._lua_incr_with_ttl = self.get_connection().register_script(_INCR_EXPIRE_WITH_TTL)

    def _request_counts(self) -> dict[str, tuple[int, float]] | None:
        if not has_request_context():
            return None
        return self._counted.setdefault(request._get_current_object(), {})  # type: ignore[attr-defined]

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Increment the counter in Redis and remember its count and expiry for this request."""
        prefixed = self.prefixed_key(key)
        count, ttl_ms = self._lua_incr_with_ttl([prefixed], [expiry, amount])
        counts = self._request_counts()
        if counts is not None:
            counts[prefixed] = (int(count), time.time() + max(int(ttl_ms), 0) / 1000)
        return int(count)

    def _counted_here(self, key: str) -> tuple[int, float] | None:
        counts = self._request_counts()
        return None if counts is None else counts.get(self.prefixed_key(key))

    def get(self, key: str) -> int:
        """Return the counter: as this request left it, if it counted it, else from Redis."""
        counted = self._counted_here(key)
        return counted[0] if counted is not None else int(super().get(key))

    def get_expiry(self, key: str) -> float:
        """Return when the counter's window ends: as this request saw it, else from Redis."""
        counted = self._counted_here(key)
        return counted[1] if counted is not None else float(super().get_expiry(key))
