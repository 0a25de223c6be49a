"""Visitor admission: short-lived tokens signed per site (JWT, HS256, through PyJWT).

A site's backend (or, where the site allows it, this server at ``POST /visitor-token``)
mints a token with ``sub="visitor"``, ``site`` (the site key, also the header's ``kid``),
``origin`` (the page origin it is for, or absent for any of the site's origins), ``exp``
and a random ``jti``. PyJWT rather than itsdangerous: JWT is what a site's backend in any
language can already mint (every platform has a JWT library), PyJWT checks ``exp``, the
algorithm allowlist and required claims for us, and the format is standard, not one
Python library's own.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

import jwt

from softphone.signaling.config import SiteConfig

log = logging.getLogger(__name__)
ALGORITHM = "HS256"


@dataclass(frozen=True)
class VisitorClaims:
    site: str
    origin: str | None
    jti: str


class VisitorTokens:
    def __init__(self, sites: dict[str, SiteConfig], ttl: int) -> None:
        self.sites = sites
        self.ttl = ttl
        # A site without a configured secret gets one per process: only this server mints.
        self._keys = {
            key: (site.secret or secrets.token_urlsafe(32)).encode() for key, site in sites.items()
        }

    def mint(self, site_key: str, origin: str | None = None, ttl: int | None = None) -> str:
        return mint_token(self._keys[site_key].decode(), site_key, origin, ttl or self.ttl)

    def verify(self, token: str) -> VisitorClaims | None:
        """The token's claims if a known site signed it and it has not expired, else None."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "site", "jti"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            log.info("signaling.visitor_token_refused", extra={"error": type(exc).__name__})
            return None
        origin = claims.get("origin")
        if claims["sub"] != "visitor" or claims["site"] != kid:
            return None
        return VisitorClaims(
            site=kid, origin=origin if isinstance(origin, str) else None, jti=str(claims["jti"])
        )


def mint_token(secret: str, site_key: str, origin: str | None, ttl: int) -> str:
    """What a site's backend does (any JWT library will do the same)."""
    claims: dict[str, object] = {
        "sub": "visitor",
        "site": site_key,
        "exp": int(time.time()) + ttl,
        "jti": secrets.token_urlsafe(12),
    }
    if origin:
        claims["origin"] = origin
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": site_key})
