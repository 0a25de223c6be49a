"""Call tickets: what lets a party re-attach its live call to a server that forgot it.

Issued to each party when a call goes live (``accepted.ticket`` to the visitor,
``ticket`` to the agent). A server that restarted, or another node, holds no call: the
parties open fresh sessions and send ``reattach{ticket}``, and the server rebuilds the call
from the tickets. Signed (JWT, HS256, PyJWT as for visitor tokens) with the server's
``call_ticket_secret``, so nobody can attach to a call they were not in, and every node that
shares the secret accepts them. The ticket names the call, the party's role and name, and
the agent who answered.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

import jwt

from softphone.signaling.protocol import Role

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
AUDIENCE = "softphone-call"


@dataclass(frozen=True)
class CallTicket:
    call_id: str
    role: Role
    name: str  # the agent's sign-in name, or the visitor's display name
    agent_name: str  # who answered (both tickets carry it)


class CallTickets:
    def __init__(self, secret: str | None, ttl: int) -> None:
        if not secret:  # fine embedded (tests, --demo); softphone-server warns about it
            log.info("signaling.call_ticket_secret_random")
        self._key = (secret or secrets.token_urlsafe(32)).encode()
        self.ttl = ttl

    def issue(self, ticket: CallTicket) -> str:
        claims: dict[str, object] = {
            "aud": AUDIENCE,
            "call": ticket.call_id,
            "role": ticket.role,
            "name": ticket.name,
            "agent": ticket.agent_name,
            "exp": int(time.time()) + self.ttl,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> CallTicket | None:
        """The ticket if this service signed it and it has not expired, else None."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["exp", "aud", "call", "role", "name", "agent"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            log.info("signaling.call_ticket_refused", extra={"error": type(exc).__name__})
            return None
        role = claims["role"]
        if role not in ("agent", "visitor") or not isinstance(claims["call"], str):
            return None
        return CallTicket(
            call_id=claims["call"],
            role=role,
            name=str(claims["name"]),
            agent_name=str(claims["agent"]),
        )
