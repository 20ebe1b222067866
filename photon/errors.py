"""Errors carry the exact text Redis sends after the '-', so the encoder never rewrites them."""
from __future__ import annotations


class RedisError(Exception):
    """An error reply; the connection stays open."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(Exception):
    """Malformed input: the text is replied as ``-ERR Protocol error: ...`` and the connection closes."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.message = "ERR Protocol error: " + detail


class ConfigError(Exception):
    """A bad setting: start-up stops with this one line."""


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
DB_RANGE = "ERR DB index is out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"


def wrongtype() -> RedisError:
    return RedisError(WRONGTYPE)


def syntax() -> RedisError:
    return RedisError(SYNTAX)
