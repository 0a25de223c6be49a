"""Who may sign in: agents by name and secret, throttled; visitors by a token their site
signed (or, where a site allows it, its bare key); and who may get a token from this server.

The server asks :class:`SignIn` about each hello and each ``POST /visitor-token``; a refused
hello is :class:`Refused`, carrying the error code the client gets. docs/security.md lists
the policies and their defaults.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass

from softphone.signaling.config import ServerConfig, SiteConfig
from softphone.signaling.credentials import AgentDirectory
from softphone.signaling.protocol import ErrorCode, Hello
from softphone.signaling.throttle import RateWindow, SignInThrottle
from softphone.signaling.visitor_tokens import VisitorClaims, VisitorTokens

log = logging.getLogger(__name__)


class Refused(Exception):  # noqa: N818 - a verdict on a hello
    """The hello is refused with error ``code``; the socket closes (1008)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Caller:
    """Where a hello or a token request comes from."""

    ip: str
    peer: str  # address:port, for the log
    origin: str | None  # the browser's Origin header; None: not a browser (or not saying)
    own_origin: str  # the origin of the pages this server serves (the widget)


class SignIn:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.agents = AgentDirectory(config.agent_hashes, config.agent_tokens)
        self.sites = config.all_sites()
        self.visitor_tokens = VisitorTokens(self.sites, config.visitor_token_ttl)
        # Failed agent sign-ins lock the address; a name is locked (at most a fifth as long:
        # someone else guessing must not lock a real agent out for long) only by failures
        # from distinct addresses, since one address is already held by its own lock. The
        # address an agent last signed in from is exempt from its name's lockout.
        free, longest = config.signin_free_failures, config.signin_lockout_max
        self._ip_throttle = SignInThrottle(free, longest)
        self._name_throttle = SignInThrottle(free, longest / 5)
        self._failed_from: dict[str, set[str]] = {}  # agent name -> addresses that failed
        self._agent_home: dict[str, str] = {}  # agent name -> address of the last sign-in
        self._mints = RateWindow(config.tokens_per_minute_per_ip)

    # --- agents -------------------------------------------------------------------------

    async def agent(self, hello: Hello, caller: Caller) -> str:
        """The agent's name, or Refused (bad secret, or locked after failures)."""
        wait = self._ip_throttle.retry_after(caller.ip)
        if hello.name and self._agent_home.get(hello.name) != caller.ip:
            wait = max(wait, self._name_throttle.retry_after(hello.name))
        if wait > 0:
            log.warning("signaling.signin_throttled", extra={"peer": caller.peer, "wait_s": wait})
            raise Refused(
                ErrorCode.THROTTLED, f"too many failed sign-ins: wait {math.ceil(wait)} s"
            )
        name = await self.agents.verify(hello.name, hello.token or "")
        if name is None:
            lockout = self._ip_throttle.failed(caller.ip)
            if hello.name and self._new_failing_address(hello.name, caller.ip):
                lockout = max(lockout, self._name_throttle.failed(hello.name))
            log.warning(
                "signaling.agent_unauthorized",
                extra={"peer": caller.peer, "agent": hello.name, "lockout_s": lockout},
            )
            raise Refused(ErrorCode.UNAUTHORIZED, "bad credentials")
        self._ip_throttle.succeeded(caller.ip)
        self._name_throttle.succeeded(name)
        self._failed_from.pop(name, None)
        self._agent_home[name] = caller.ip
        return name

    def _new_failing_address(self, name: str, ip: str) -> bool:
        addresses = self._failed_from.setdefault(name, set())
        if ip in addresses or len(addresses) >= 1_000:
            return ip not in addresses
        addresses.add(ip)
        if len(self._failed_from) > 20_000:  # bounded: forget the oldest name
            del self._failed_from[next(iter(self._failed_from))]
        return True

    # --- visitors -----------------------------------------------------------------------

    def visitor_site(self, hello: Hello, caller: Caller) -> str:
        """The site a visitor comes for, or Refused. A token names it; a bare site key only
        where the site allows it; no site at all only on a server without sites."""
        policy = self.config.no_origin_visitors
        if caller.origin is None and policy == "refuse":
            raise Refused(ErrorCode.UNAUTHORIZED, "a browser Origin is required")
        if hello.token:
            claims = self.visitor_tokens.verify(hello.token)
            if claims is None or (caller.origin and not self._page_of(claims, caller)):
                log.warning("signaling.visitor_unauthorized", extra={"peer": caller.peer})
                raise Refused(ErrorCode.UNAUTHORIZED, "invalid or expired visitor token")
            return claims.site
        if caller.origin is None and policy == "token":
            raise Refused(ErrorCode.UNAUTHORIZED, "a visitor token is required")
        if not self.sites:
            return ""
        site = self._legacy_site(hello.site_key or "")
        if site is None:
            log.warning("signaling.visitor_unauthorized", extra={"peer": caller.peer})
            raise Refused(ErrorCode.UNAUTHORIZED, "a visitor token is required")
        return site.key

    def _page_of(self, claims: VisitorClaims, caller: Caller) -> bool:
        """Whether the caller's page may use the token: the origin it was minted for, else
        one of its site's origins (or the server's own)."""
        if claims.origin:
            return caller.origin == claims.origin
        site = self.sites[claims.site]
        return not site.origins or caller.origin in {*site.origins, caller.own_origin}

    def _legacy_site(self, key: str) -> SiteConfig | None:
        found = None
        for site in self.sites.values():
            # Compare with every key so the time taken says nothing about which matched.
            if hmac.compare_digest(key.encode(), site.key.encode()) and site.legacy_hello:
                found = site
        return found

    def mint_for_page(self, site_key: str, caller: Caller) -> tuple[int, dict[str, object]]:
        """``POST /visitor-token``: (HTTP status, JSON answer). A token only for a
        self-minting site and a page on one of its origins (or the server's own)."""
        site = self.sites.get(site_key)
        if site is None:
            return 404, {"error": "unknown_site"}
        if not site.self_mint:
            return 403, {"error": "self_mint_disabled"}
        if caller.origin is None or caller.origin not in {*site.origins, caller.own_origin}:
            log.warning(
                "signaling.mint_origin_refused", extra={"peer": caller.peer, "site": site_key}
            )
            return 403, {"error": "origin_not_allowed"}
        if not self._mints.allow(caller.ip):
            return 429, {"error": "rate_limited"}
        token = self.visitor_tokens.mint(site_key, caller.origin)
        return 200, {"token": token, "expires_in": self.visitor_tokens.ttl}
