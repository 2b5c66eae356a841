"""The password hash string of ``[[api.user]] password_hash`` (scrypt, RFC 7914), pure and stdlib only.

Rule: every password hash is made, parsed and checked here — the config
model validates its format, ``bootwright hash-password`` makes one, and the
UI login checks a password against one.

Format (``$``-separated; base64 is RFC 4648 §4, standard alphabet, without
``=`` padding)::

    scrypt$<N>$<r>$<p>$<salt, base64>$<derived key, base64>

``N`` (CPU/memory cost, a power of two), ``r`` (block size) and ``p``
(parallelism) are scrypt's parameters (RFC 7914 §2); the derived key's length
is the decoded length of its field. The parameters travel with each hash, so
the defaults can grow later without invalidating stored hashes. The salt is
made by the caller (``secrets.token_bytes``): this module has no randomness.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from bootwright.wire import DecodeError

SCHEME: Final = "scrypt"
DEFAULT_N: Final = 2**15
"""Cost of new hashes: 32 MiB and about 0.1 s per check on this project's 2-core machines."""
DEFAULT_R: Final = 8  # RFC 7914 §2: r = 8 is the usual block size
DEFAULT_P: Final = 1
SALT_BYTES: Final = 16
KEY_BYTES: Final = 32

# Bounds a hash in a config file may use: every check runs with its own parameters, so an absurd
# N or p would turn each login into a denial of service. 128·N·r octets is scrypt's memory (§2).
_MIN_LOG_N, _MAX_LOG_N = 10, 20
_MAX_R, _MAX_P = 32, 16
_MAX_MEMORY: Final = 256 * 2**20
_MIN_SALT, _MAX_SALT = 8, 64
_MIN_KEY, _MAX_KEY = 16, 64


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str, what: str) -> bytes:
    if not text or text.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"):
        raise DecodeError(f"the {what} is not base64 (A-Z a-z 0-9 + /, no padding)")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"the {what} is not base64 (A-Z a-z 0-9 + /, no padding)") from None


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """One parsed hash: scrypt's parameters, the salt and the derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def make(
        cls, password: str, salt: bytes, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P
    ) -> PasswordHash:
        """Hash ``password`` (UTF-8) with ``salt``; ``ValueError`` for parameters outside the bounds."""
        problem = _parameter_problem(n, r, p, len(salt), KEY_BYTES)
        if problem:
            raise ValueError(problem)
        return cls(n, r, p, salt, _derive(password, salt, n, r, p, KEY_BYTES))

    @classmethod
    def decode(cls, text: str) -> PasswordHash:
        """Parse ``scrypt$N$r$p$salt$key``; :class:`DecodeError` saying which field is wrong."""
        fields = text.split("$")
        if len(fields) != 6 or fields[0] != SCHEME:
            raise DecodeError("not of the form scrypt$N$r$p$salt$key")
        numbers: list[int] = []
        for name, value in zip(("N", "r", "p"), fields[1:4], strict=True):
            if not value.isdigit() or len(value) > 9:
                raise DecodeError(f"{name} ({value!r}) is not a whole number")
            numbers.append(int(value))
        n, r, p = numbers
        salt = _unb64(fields[4], "salt")
        key = _unb64(fields[5], "derived key")
        problem = _parameter_problem(n, r, p, len(salt), len(key))
        if problem:
            raise DecodeError(problem)
        return cls(n, r, p, salt, key)

    def encode(self) -> str:
        """The string form, as written in the config file."""
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.key)}"

    def verify(self, password: str) -> bool:
        """Whether ``password`` matches; the comparison takes the same time wherever they differ."""
        given = _derive(password, self.salt, self.n, self.r, self.p, len(self.key))
        return hmac.compare_digest(given, self.key)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: OpenSSL refuses above 32 MiB by default; allow what the bounds allow, with room.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=2 * _MAX_MEMORY)


def _parameter_problem(n: int, r: int, p: int, salt: int, key: int) -> str | None:
    """Why these parameters are refused, or None."""
    if n < 2 or n & (n - 1) or not _MIN_LOG_N <= n.bit_length() - 1 <= _MAX_LOG_N:
        return f"N ({n}) must be a power of two from 2^{_MIN_LOG_N} to 2^{_MAX_LOG_N} (RFC 7914 §2)"
    if not 1 <= r <= _MAX_R:
        return f"r ({r}) must be 1..{_MAX_R}"
    if not 1 <= p <= _MAX_P:
        return f"p ({p}) must be 1..{_MAX_P}"
    if 128 * n * r > _MAX_MEMORY:
        return f"N·r needs {128 * n * r // 2**20} MiB per check; at most {_MAX_MEMORY // 2**20} MiB"
    if not _MIN_SALT <= salt <= _MAX_SALT:
        return f"the salt has {salt} octets; it needs {_MIN_SALT}..{_MAX_SALT}"
    if not _MIN_KEY <= key <= _MAX_KEY:
        return f"the derived key has {key} octets; it needs {_MIN_KEY}..{_MAX_KEY}"
    return None


DUMMY: Final = PasswordHash(DEFAULT_N, DEFAULT_R, DEFAULT_P, b"\x00" * SALT_BYTES, b"\x00" * KEY_BYTES)
"""Checked against for a user name that does not exist, so an unknown name costs as long as a wrong password."""
