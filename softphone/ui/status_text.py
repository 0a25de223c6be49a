"""Status-bar wording as pure functions, so it is tested without Qt and stays consistent."""

from __future__ import annotations

SIGNALING_TEXT = {
    "connecting": "Server: connecting…",
    "connected": "Server: connected",
    "reconnecting": "Server: reconnecting…",
    "closed": "Server: offline",
    "offline": "Server: offline",
}


def signaling_text(state: str) -> str:
    return SIGNALING_TEXT.get(state, f"Server: {state}")


def call_text(state: str, attempt: int = 0, max_attempts: int = 0) -> str:
    """Text of the call-connection field; reconnecting always names the attempt."""
    if state == "reconnecting":
        if attempt and max_attempts:
            return f"Reconnecting… (attempt {attempt} of {max_attempts})"
        return "Reconnecting…"
    return {
        "idle": "No call",
        "ringing": "Incoming call",
        "connecting": "Call: connecting…",
        "connected": "Call: connected",
        "reconnected": "Reconnected",
        "failed": "Call lost",
        "ended": "Call ended",
    }.get(state, f"Call: {state}")


def window_title(agent_state: str) -> str:
    return f"Softphone — {agent_state}"
