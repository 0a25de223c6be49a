"""Status-bar wording as pure functions, so it is tested without Qt and stays consistent."""

from __future__ import annotations

from PySide6.QtCore import QLocale

from softphone.call.state import CallState, CallStatus, RestartOrigin
from softphone.signaling.protocol import HangupReason
from softphone.ui.i18n import translate


def signaling_text(state: str) -> str:
    texts = {
        "connecting": translate("StatusText", "Server: connecting…"),
        "connected": translate("StatusText", "Server: connected"),
        "reconnecting": translate("StatusText", "Server: reconnecting…"),
        "closed": translate("StatusText", "Server: offline"),
        "offline": translate("StatusText", "Server: offline"),
    }
    return texts.get(state) or translate("StatusText", "Server: {state}").format(state=state)


def no_call_text() -> str:
    return translate("StatusText", "No call")


def ringing_text() -> str:
    return translate("StatusText", "Incoming call")


def call_text(status: CallStatus | None, *, flash: bool = False) -> str:
    """Text of the call-connection field. ``flash``: the moment right after a recovery."""
    if status is None:
        return no_call_text()
    state = status.state
    if state is CallState.RECONNECTING:
        if status.origin is RestartOrigin.PEER:
            return translate("StatusText", "Reconnecting… (visitor's network)")
        if not status.attempt:
            return translate("StatusText", "Reconnecting…")
        return translate("StatusText", "Reconnecting… (attempt {attempt} of {total})").format(
            attempt=status.attempt, total=status.max_attempts
        )
    if state is CallState.CONNECTED and flash and status.recovered_after_s is not None:
        return translate("StatusText", "Reconnected after {seconds} s").format(
            seconds=decimal(status.recovered_after_s)
        )
    return {
        CallState.CONNECTING: translate("StatusText", "Call: connecting…"),
        CallState.CONNECTED: translate("StatusText", "Call: connected"),
        CallState.FAILED: translate("StatusText", "Call lost"),
        CallState.ENDED: translate("StatusText", "Call ended"),
    }[state]


def banner_text(status: CallStatus | None) -> str | None:
    """The message over the video while the call is being recovered, else none."""
    if status is None or status.state is not CallState.RECONNECTING:
        return None
    if status.origin is RestartOrigin.PEER:
        return translate("StatusText", "The visitor's connection dropped — reconnecting…")
    if not status.attempt:
        return translate("StatusText", "Connection lost — reconnecting…")
    return translate(
        "StatusText", "Connection lost — reconnecting (attempt {attempt} of {total})…"
    ).format(attempt=status.attempt, total=status.max_attempts)


def end_reason_text(reason: str | None) -> str:
    """Why a call ended, in words; a code we do not know is shown as sent (a stable code)."""
    texts = {
        HangupReason.NORMAL: translate("StatusText", "the visitor hung up"),
        HangupReason.PEER_LOST: translate("StatusText", "the visitor's connection was lost"),
        HangupReason.CANCELLED: translate("StatusText", "the visitor cancelled"),
        HangupReason.DECLINED: translate("StatusText", "declined"),
        HangupReason.TRANSFERRED: translate("StatusText", "you transferred it"),
        HangupReason.CONSULT_COMPLETE: translate(
            "StatusText", "the colleague hands the visitor's call to you"
        ),
        HangupReason.RECONNECT_FAILED: translate(
            "StatusText", "the connection could not be restored"
        ),
        "connection-lost": translate("StatusText", "the server connection was lost"),
        "local-hangup": translate("StatusText", "you hung up"),
        "session-lost": translate("StatusText", "the server lost this session"),
        "accept-failed": translate("StatusText", "the answer did not reach the server"),
    }
    return texts.get(reason or "", reason or translate("StatusText", "unknown reason"))


def window_title(agent_state: str) -> str:
    return f"Softphone — {agent_state}"


def agent_state_text(
    signed_in: bool, available: bool, in_call: bool, *, wrapping_up: bool = False
) -> str:
    """The agent's state as shown in the title, the header and the tray."""
    if not signed_in:
        return translate("StatusText", "Offline")
    if in_call:
        return translate("StatusText", "In a call")
    if wrapping_up:
        return translate("StatusText", "After-call work")
    if available:
        return translate("StatusText", "Available")
    return translate("StatusText", "Away")


def decimal(value: float, places: int = 1) -> str:
    """A measured value with the decimal separator of the UI language (2.3 / 2,3)."""
    return QLocale().toString(float(value), "f", places)


def format_duration(seconds: float) -> str:
    """Call timer: m:ss, or h:mm:ss past an hour."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def ring_text(visitor_name: str, page: str | None) -> str:
    name = visitor_name or translate("StatusText", "A visitor")
    if page:
        return translate("StatusText", "{name} is calling on {page}").format(name=name, page=page)
    return translate("StatusText", "{name} is calling").format(name=name)


def reconnect_failure_text(attempts: int, elapsed_s: float, reason: str) -> str:
    """Body of the modal shown when the call could not be recovered."""
    if attempts == 1:
        lost = translate(
            "StatusText",
            "The connection could not be restored after 1 attempt over {seconds} seconds "
            "(last error: {reason}).",
        )
    else:  # pyside6-lupdate marks plurals (%n) only in tr(): two sentences instead
        lost = translate(
            "StatusText",
            "The connection could not be restored after {attempts} attempts over {seconds} "
            "seconds (last error: {reason}).",
        )
    return (
        lost.format(attempts=attempts, seconds=f"{elapsed_s:.0f}", reason=reason)
        + "\n\n"
        + translate(
            "StatusText",
            "Please check your network connection, VPN and firewall, then wait for the next "
            "call. The visitor is told that the call ended as soon as the connection allows.",
        )
    )


def reconnect_failure_details(
    attempts: int, elapsed_s: float, reason: str, trigger: str, call_id: str | None
) -> str:
    """Plain text for "Copy details", meant to be pasted into a support ticket: English on
    purpose, whatever the UI language, so every support desk can read it."""
    return (
        f"Softphone call lost\ncall id: {call_id or 'unknown'}\nattempts: {attempts}\n"
        f"elapsed: {elapsed_s:.1f} s\ntrigger: {trigger}\nlast reason: {reason}"
    )
