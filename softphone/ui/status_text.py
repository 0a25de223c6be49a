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


def agent_state_text(signed_in: bool, available: bool, in_call: bool) -> str:
    """The agent's state as shown in the title, the header and the tray."""
    if not signed_in:
        return "Offline"
    if in_call:
        return "In a call"
    return "Available" if available else "Away"


def format_duration(seconds: float) -> str:
    """Call timer: m:ss, or h:mm:ss past an hour."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ring_text(visitor_name: str, page: str | None) -> str:
    where = f" on {page}" if page else ""
    return f"{visitor_name or 'A visitor'} is calling{where}"


def reconnect_failure_text(attempts: int, elapsed_s: float, reason: str) -> str:
    """Body of the modal shown when the call could not be recovered."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return (
        f"The connection could not be restored after {tries} "
        f"over {elapsed_s:.0f} seconds (last error: {reason}).\n\n"
        "Please check your network connection, VPN and firewall, then wait for the "
        "next call. The visitor has been told that the call ended."
    )


def reconnect_failure_details(
    attempts: int, elapsed_s: float, reason: str, trigger: str, call_id: str | None
) -> str:
    """Plain text for "Copy details", meant to be pasted into a support ticket."""
    return (
        f"Softphone call lost\ncall id: {call_id or 'unknown'}\nattempts: {attempts}\n"
        f"elapsed: {elapsed_s:.1f} s\ntrigger: {trigger}\nlast reason: {reason}"
    )
