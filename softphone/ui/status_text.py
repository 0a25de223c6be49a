"""Status-bar wording as pure functions, so it is tested without Qt and stays consistent."""

from __future__ import annotations

from softphone.call.state import CallState, CallStatus, RestartOrigin

SIGNALING_TEXT = {
    "connecting": "Server: connecting…",
    "connected": "Server: connected",
    "reconnecting": "Server: reconnecting…",
    "closed": "Server: offline",
    "offline": "Server: offline",
}


def signaling_text(state: str) -> str:
    return SIGNALING_TEXT.get(state, f"Server: {state}")


NO_CALL_TEXT = "No call"
RINGING_TEXT = "Incoming call"


def call_text(status: CallStatus | None, *, flash: bool = False) -> str:
    """Text of the call-connection field. ``flash``: the moment right after a recovery."""
    if status is None:
        return NO_CALL_TEXT
    state = status.state
    if state is CallState.RECONNECTING:
        if status.origin is RestartOrigin.PEER:
            return "Reconnecting… (visitor's network)"
        if not status.attempt:
            return "Reconnecting…"
        return f"Reconnecting… (attempt {status.attempt} of {status.max_attempts})"
    if state is CallState.CONNECTED and flash and status.recovered_after_s is not None:
        return f"Reconnected after {status.recovered_after_s:.1f} s"
    return {
        CallState.CONNECTING: "Call: connecting…",
        CallState.CONNECTED: "Call: connected",
        CallState.FAILED: "Call lost",
        CallState.ENDED: "Call ended",
    }[state]


def banner_text(status: CallStatus | None) -> str | None:
    """The message over the video while the call is being recovered, else none."""
    if status is None or status.state is not CallState.RECONNECTING:
        return None
    if status.origin is RestartOrigin.PEER:
        return "The visitor's connection dropped — reconnecting…"
    if not status.attempt:
        return "Connection lost — reconnecting…"
    return f"Connection lost — reconnecting (attempt {status.attempt} of {status.max_attempts})…"


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
