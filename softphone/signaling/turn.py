"""Per-call TURN credentials, the TURN REST API scheme coturn checks with
``use-auth-secret``: ``username = "<expiry unix time>:<id>"``,
``credential = base64(HMAC-SHA1(secret, username))``. Nothing to store, nothing to revoke:
a credential stops working at its expiry, and only a call's two parties ever get one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from softphone.signaling.config import TurnConfig
from softphone.signaling.protocol import IceServer


def turn_credentials(turn: TurnConfig | None, party: str) -> list[IceServer]:
    if turn is None or not turn.urls:
        return []
    username = f"{int(time.time()) + turn.ttl_s}:{party}"
    mac = hmac.digest(turn.secret.encode(), username.encode(), hashlib.sha1)
    return [
        IceServer(
            urls=list(turn.urls), username=username, credential=base64.b64encode(mac).decode()
        )
    ]
