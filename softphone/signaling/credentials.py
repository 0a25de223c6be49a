"""Agent secrets: generated strong, stored only as hashes, checked in constant time.

A config file holds scrypt hashes (``softphone-server agent add NAME`` prints a new secret
and its line): a leaked file gives an attacker ~20 ms of memory-hard work per guess, and
secrets are 256-bit random anyway. Secrets handed over in plain (the environment, an
embedding program) are kept in memory only as keyed HMAC-SHA256 digests under a key drawn
at start: cheap enough for thousands of bench agents, and nothing at rest to crack.

An agent's hello names the agent; a hello without a name may still find an in-memory
agent by its secret (older agent apps), never a hashed one (that would cost one scrypt per
agent per guess).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def matches(self, secret: str) -> bool:
        derived = hashlib.scrypt(
            secret.encode(),
            salt=self.salt,
            n=self.n,
            r=self.r,
            p=self.p,
            maxmem=_MAXMEM,
            dklen=len(self.digest),
        )
        return hmac.compare_digest(derived, self.digest)


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The ``scrypt$n$r$p$salt$digest`` line a config file stores."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM, dklen=32
    )
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def parse_hash(stored: str) -> ScryptHash:
    """ValueError unless ``stored`` is a hash line (so a plain secret in the file is refused)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("agent entries must be hashes: run `softphone-server agent add NAME`")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4]), base64.b64decode(parts[5])
    except ValueError as exc:
        raise ValueError(f"malformed agent hash: {exc}") from None
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16 and salt and digest):
        raise ValueError("agent hash parameters out of range")
    return ScryptHash(n, r, p, salt, digest)


class AgentDirectory:
    """Who may sign in as an agent. Holds no secret in the clear."""

    def __init__(self, hashes: Mapping[str, str], plain: Mapping[str, str]) -> None:
        self._key = os.urandom(32)
        self._hashed = {name: parse_hash(stored) for name, stored in hashes.items()}
        self._keyed = {name: self._digest(secret) for name, secret in plain.items()}
        self._by_digest = {digest: name for name, digest in self._keyed.items()}
        # scrypt runs in a thread (it releases the GIL), one at a time: a burst of sign-ins
        # from many addresses (each locked after 3 failures) takes at most one core.
        self._kdf_slots = asyncio.Semaphore(1)
        # An unknown name costs what a hashed one does, so the time says nothing about
        # names (none needed when no agent is hashed: then every answer is quick).
        self._decoy = parse_hash(hash_secret(generate_secret())) if self._hashed else None

    def __len__(self) -> int:
        return len(self._hashed) + len(self._keyed)

    def _digest(self, secret: str) -> bytes:
        return hmac.digest(self._key, secret.encode(), "sha256")

    async def verify(self, name: str | None, secret: str) -> str | None:
        """The agent's name if ``secret`` is theirs, else None."""
        if name is None:
            return self._by_digest.get(self._digest(secret))
        keyed = self._keyed.get(name)
        if keyed is not None:
            return name if hmac.compare_digest(keyed, self._digest(secret)) else None
        stored = self._hashed.get(name, self._decoy)
        if stored is None:
            return None
        async with self._kdf_slots:
            ok = await asyncio.to_thread(stored.matches, secret)
        return name if ok and name in self._hashed else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
