"""The signaling wire protocol: one JSON object per websocket text frame.

Between agents, visitors and the server (docs/architecture.md; docs/security.md covers
admission and limits). Every message has a ``type``
(the msgspec tag) and may carry a client-chosen string ``id``; an ``error`` answering a
message echoes it as ``ref`` (so do ``welcome``, ``pong`` and ``ringing``). Unknown fields are
ignored so that a newer peer can add fields without breaking an older one; anything else
that does not validate is a :class:`ProtocolError` with a stable ``code`` that the server
sends back verbatim.

Flow (client = agent app or visitor peer):

    C: hello{protocol, role, name, token, page}   S: welcome{session_id, resume_token, reconnect}
       (agents: name + secret; visitors: a signed visitor token, see visitor_tokens.py)
    C: resume{protocol, resume_token, last_seq} (after a dropped socket)
                                   S: welcome{resumed, replay_gap} + replayed + queued
    visitor: call_request          S→visitor: queued{call_id, position} (again on each change)
    S→agents: queue{waiting, longest_wait_s} whenever the waiting line changes
    an agent is free               S→visitor: ringing{call_id}   S→agent: ring{call_id, visitor,
                                   ice_servers}  (one agent rings for one visitor at a time)
    agent: accept | decline        S→visitor: accepted{call_id, agent_name, ice_servers} | next
    S→agent: ring_timeout (the ring moved on);  S→visitor: no_agent (nobody answered)
    visitor: offer → agent: answer; then either party: candidate/restart_offer/
    restart_answer/call_state/hangup, relayed by the server to the other party only.
    a call goes live                S→visitor: accepted{ticket}   S→agent: ticket{call_id, ticket}
    session lost (resume refused), after a fresh hello:
    C: reattach{ticket}             S: reattached{call_id, peer_present} (the call is relayed
                                    again; what is sent before the peer is back waits for it)
    at call end, each party:  C: call_report{call_id, episodes[]}  (logged, counted)
    at call end, the agent:   S: wrap_up{call_id, seconds}: not rung until the time is up
                              or it sends presence{available} ("Ready"); 0 s: no wrap-up
    agent: presence{status: available | away, reason?}  (away agents are never rung)
    agent: hold{call_id, on}         S→visitor: hold{call_id, on} (the agent's media carries
                                     a hold tone and a still picture; nothing renegotiates)
    agent: agents                    S: agent_list{agents} (who could take a transfer now)
    agent: consult{call_id, to, note}  S→agent: consulting{call_id: K, for_call}; the colleague
                                     gets ring{call_id: K, transfer{consult}}; K is a call
                                     with the consulting agent as caller (offer, relay,
                                     hangup as usual; no wrap-up, no ticket). transfer of
                                     the visitor's call to that colleague completes it.
    agent: transfer{call_id, to?, note}  S→agent: transferred{call_id, to} (the agent's part
                                     ends, wrap-up follows)   S→visitor: transferring{call_id}
                                     (close the peer, keep the camera/mic; ringing/accepted
                                     follow as for a new call)   S→target: ring{transfer}
                                     (to absent: back to the front of the waiting line)
    server shutting down:     S: notice{code: "server_draining"}, socket closed 1012:
                              reconnect (another node, or this one once it is back)

Every message the server sends to a session (except ``welcome`` and ``pong``, which belong
to one socket) carries ``seq``, counting up from 1 per session. The server keeps the last
``resume_queue`` of them; a ``resume`` with ``last_seq`` (the highest ``seq`` received) gets
those after it again, so frames written into a socket that was already dead are not lost.
``welcome.replay_gap`` says the buffer no longer reached back that far. Clients drop a
message whose ``seq`` is not above the highest seen (a replay racing a late delivery), and
acknowledge the highest on every heartbeat (``ping.ack``) so the server can forget what was
delivered. Error frames carry no ``seq`` and are never replayed.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

PROTOCOL_VERSION: Final = 1

Role = Literal["agent", "visitor"]
ShortStr = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
CallId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
MsgId = Annotated[str, msgspec.Meta(max_length=64)]
Sdp = Annotated[str, msgspec.Meta(max_length=60_000)]
Attempt = Annotated[int, msgspec.Meta(ge=0, le=1_000)]
Reason = Annotated[str, msgspec.Meta(max_length=128)]


class ErrorCode:
    """Stable ``code`` values of ``error`` frames and :class:`ProtocolError`."""

    BAD_JSON: Final = "bad_json"
    INVALID_MESSAGE: Final = "invalid_message"
    UNKNOWN_TYPE: Final = "unknown_type"
    BINARY_FRAME: Final = "binary_frame"
    FRAME_TOO_LARGE: Final = "frame_too_large"  # the socket is closed with 1009 instead
    RATE_LIMITED: Final = "rate_limited"
    UNAUTHORIZED: Final = "unauthorized"
    FORBIDDEN: Final = "forbidden"  # e.g. a visitor sending an agent-only message
    PROTOCOL_VERSION: Final = "protocol_version"
    UNKNOWN_CALL: Final = "unknown_call"
    NOT_IN_CALL: Final = "not_in_call"
    RESTART_CAP: Final = "restart_cap"
    NOT_AVAILABLE: Final = "not_available"  # the call is not in a state that allows this
    QUEUE_FULL: Final = "queue_full"  # the waiting line (or a client's send queue) is full
    TOO_MANY_CALLS: Final = "too_many_calls"  # this address or site has enough calls waiting
    ALREADY_SIGNED_IN: Final = "already_signed_in"  # the agent is signed in and in a call
    THROTTLED: Final = "throttled"  # too many failed sign-ins: wait before trying again
    IDLE: Final = "idle"  # a visitor without a call stayed too long
    NOT_AUTHENTICATED: Final = "not_authenticated"
    ALREADY_AUTHENTICATED: Final = "already_authenticated"
    RESUME_FAILED: Final = "resume_failed"
    BAD_TICKET: Final = "bad_ticket"  # reattach: not a ticket this service signed, or expired
    SERVER_DRAINING: Final = "server_draining"  # notice: this server stops, reconnect
    ALREADY_IN_CALL: Final = "already_in_call"
    TRANSFER_LIMIT: Final = "transfer_limit"  # the call was handed on too often already
    UNEXPECTED: Final = "unexpected_type"  # a server-to-client type sent by a client
    INTERNAL: Final = "internal"


class HangupReason:
    NORMAL: Final = "normal"
    PEER_LOST: Final = "peer-lost"
    RECONNECT_FAILED: Final = "reconnect-failed"
    CANCELLED: Final = "cancelled"
    DECLINED: Final = "declined"
    TRANSFERRED: Final = "transferred"  # the agent's part ended: another agent has the call
    CONSULT_COMPLETE: Final = "consult-complete"  # the consult ends: the visitor's call follows


class ProtocolError(Exception):
    """A frame that is not a valid message; ``code`` is one of :class:`ErrorCode`."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref


class _Base(msgspec.Struct, tag_field="type", kw_only=True):
    id: MsgId | None = None
    seq: int | None = None  # set by the server on messages to a client; ignored from clients


class IceServer(msgspec.Struct, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


# --- session ---------------------------------------------------------------------------


class Hello(_Base, tag="hello"):
    protocol: int
    role: Role
    name: ShortStr | None = None  # visitors: display name; agents: their sign-in name
    # Agents: their secret; visitors: a signed visitor token (JWT).
    token: Annotated[str, msgspec.Meta(max_length=4_096)] | None = None
    site_key: ShortStr | None = None  # visitors, only where the site allows it: no token
    page: Annotated[str, msgspec.Meta(max_length=2_048)] | None = None  # visitors: where from


class Limits(msgspec.Struct):
    max_frame_bytes: int
    messages_per_second: int


class ReconnectPolicy(msgspec.Struct):
    """How clients recover a call (the server's ``[reconnect]``): one policy for all."""

    max_attempts: int = 3
    attempt_timeout_s: float = 10.0
    backoff_s: list[float] = msgspec.field(default_factory=lambda: [1.0, 2.0])
    reissue_interval_s: float = 2.5


class Welcome(_Base, tag="welcome"):
    session_id: str
    resume_token: str
    heartbeat_interval: float
    limits: Limits
    ice_servers: list[IceServer] = []
    resumed: bool = False
    call_id: str | None = None  # on resume: the call the session is in
    role: Role | None = None
    name: str | None = None
    protocol: int = PROTOCOL_VERSION
    ref: MsgId | None = None
    # On resume: some messages after the resume's last_seq are gone from the replay buffer.
    replay_gap: bool = False
    reconnect: ReconnectPolicy = msgspec.field(default_factory=ReconnectPolicy)


class Resume(_Base, tag="resume"):
    protocol: int
    resume_token: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    # The highest seq the client received; absent: no replay, only what is still queued.
    last_seq: Annotated[int, msgspec.Meta(ge=0)] | None = None


class Ping(_Base, tag="ping"):
    ack: Annotated[int, msgspec.Meta(ge=0)] | None = None  # the highest seq received


class Pong(_Base, tag="pong"):
    ref: MsgId | None = None


class Presence(_Base, tag="presence"):
    """Agent only: ``available`` agents (the state after sign-in) are offered calls, ``away``
    ones never (``reason`` is the agent's own word for it, logged). ``available`` during
    wrap-up is "Ready": it ends the wrap-up at once."""

    status: Literal["available", "away"]
    reason: Annotated[str, msgspec.Meta(max_length=64)] | None = None


AgentName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Note = Annotated[str, msgspec.Meta(max_length=200)]  # shown as plain text, never markup


class Hold(_Base, tag="hold"):
    """Agent → server → visitor: the call is on hold (``on``) or resumed. The agent's
    sender keeps going with a hold tone and a still picture in place of its camera and
    microphone (no renegotiation, no new DTLS handshake); the visitor shows "On hold"."""

    call_id: CallId
    on: bool


class AgentsRequest(_Base, tag="agents"):
    """Agent only: who could take a transfer now (answered by ``agent_list``)."""


class AgentList(_Base, tag="agent_list"):
    """Signed-in agents that are available, free and not wrapping up, by name."""

    agents: list[str]
    ref: MsgId | None = None


class Transfer(_Base, tag="transfer"):
    """The call's agent hands it on: to an available agent (``to``), or, without ``to``,
    back to the front of the waiting line. ``note`` goes to whoever answers next."""

    call_id: CallId
    to: AgentName | None = None
    note: Note = ""


class Transferred(_Base, tag="transferred"):
    """To the agent that transferred: its part of the call is over (wrap-up follows)."""

    call_id: CallId
    to: str | None = None
    ref: MsgId | None = None


class Transferring(_Base, tag="transferring"):
    """To the visitor: the agent handed the call on. Close the peer connection, keep the
    camera and microphone: ``ringing`` and ``accepted`` follow as for a new call."""

    call_id: CallId


class Consult(_Base, tag="consult"):
    """The call's agent asks a free colleague (``to``) to talk first (a warm transfer): the
    server rings them with a consult call in which this agent is the caller. ``transfer``
    of the visitor's call to the same colleague completes it; a ``hangup`` of the consult
    call cancels it."""

    call_id: CallId
    to: AgentName
    note: Note = ""


class Consulting(_Base, tag="consulting"):
    """To the consulting agent: the colleague rings for consult call ``call_id`` (then
    ``accepted`` or ``hangup{declined}`` for it, as a visitor would get)."""

    call_id: CallId
    for_call: CallId
    to: str
    ref: MsgId | None = None


class TransferInfo(msgspec.Struct):
    """In a ``ring``: the call comes from a colleague, with their note."""

    from_agent: str
    note: str = ""
    consult: bool = False  # the colleague wants to talk first (the caller is that agent)


class WrapUp(_Base, tag="wrap_up"):
    """To the agent when its call has ended: after-call work, no ring for ``seconds``
    (``wrap_up_s``) unless the agent says ``presence{available}`` sooner."""

    call_id: CallId
    seconds: float


# --- call setup ------------------------------------------------------------------------


class CallRequest(_Base, tag="call_request"):
    """Visitor only: ask for an agent."""


class Queued(_Base, tag="queued"):
    """To the visitor: waiting for an agent; ``call_id`` names the call from now on."""

    call_id: CallId
    position: int  # 1-based place in the waiting line; sent again whenever it changes
    ref: MsgId | None = None


class Queue(_Base, tag="queue"):
    """To agents: how many visitors wait, and for how long the longest has."""

    waiting: int
    longest_wait_s: float


class Ringing(_Base, tag="ringing"):
    """To the visitor: an agent's phone rings for this call."""

    call_id: CallId
    ref: MsgId | None = None


class VisitorInfo(msgspec.Struct):
    name: str
    page: str | None = None


class Ring(_Base, tag="ring"):
    """To an agent: a visitor is calling; accept or decline within ``timeout_s``."""

    call_id: CallId
    visitor: VisitorInfo
    timeout_s: float
    ice_servers: list[IceServer] = []  # per-call TURN credentials (expire), if any
    transfer: TransferInfo | None = None  # a colleague handed this call on


class Accept(_Base, tag="accept"):
    call_id: CallId


Ticket = Annotated[str, msgspec.Meta(min_length=1, max_length=2_048)]


class Accepted(_Base, tag="accepted"):
    """To the visitor: the call is live; the visitor now sends the first offer."""

    call_id: CallId
    agent_name: str
    ice_servers: list[IceServer] = []  # per-call TURN credentials (expire), if any
    ticket: str | None = None  # re-attaches the call after a lost session (call_tickets.py)


class CallTicketMsg(_Base, tag="ticket"):
    """To the agent when its accept made the call live: the call's ticket."""

    call_id: CallId
    ticket: str


class Reattach(_Base, tag="reattach"):
    """After a fresh hello (the session was lost): bring back the live call of ``ticket``."""

    ticket: Ticket


class Reattached(_Base, tag="reattached"):
    """To the party that re-attached; ``peer_present``: the other party is attached too."""

    call_id: CallId
    peer_present: bool
    ref: MsgId | None = None


class Notice(_Base, tag="notice"):
    """Server news about the connection itself, e.g. ``server_draining`` before a close."""

    code: str
    message: str = ""


Seconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]


class Episode(msgspec.Struct):
    """One reconnect episode as a party saw it."""

    trigger: Reason
    # recovered: media flowed again; failed: recovery gave up (the call ended with it);
    # call-ended: someone hung up while it was still reconnecting.
    outcome: Literal["recovered", "failed", "call-ended"]
    duration_s: Seconds
    attempts: Attempt  # the highest attempt reached; 0: the peer ran the restart
    origin: Literal["local", "peer"] = "local"


class CallReport(_Base, tag="call_report"):
    """At call end, each party: every interruption and how long it lasted."""

    call_id: CallId
    episodes: Annotated[list[Episode], msgspec.Meta(max_length=100)] = []


class Decline(_Base, tag="decline"):
    call_id: CallId


class RingTimeout(_Base, tag="ring_timeout"):
    """To an agent: the ring was not answered in time and has moved on."""

    call_id: CallId


class NoAgent(_Base, tag="no_agent"):
    """To the visitor: nobody can take the call."""

    call_id: CallId | None = None
    reason: Reason = "no-agent-available"


# --- relayed between the two parties of a call -----------------------------------------


class Offer(_Base, tag="offer"):
    call_id: CallId
    sdp: Sdp


class Answer(_Base, tag="answer"):
    call_id: CallId
    sdp: Sdp


class Candidate(_Base, tag="candidate"):
    """A trickled ICE candidate; ``candidate`` null means end of candidates."""

    call_id: CallId
    candidate: Annotated[str, msgspec.Meta(max_length=1_024)] | None = None
    sdp_mid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdp_mline_index: Annotated[int, msgspec.Meta(ge=0, le=1_000)] | None = None
    ufrag: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class RestartOffer(_Base, tag="restart_offer"):
    """An ICE-restart offer (fresh ufrag/pwd); ``attempt`` counts from 1 per episode."""

    call_id: CallId
    sdp: Sdp
    attempt: Attempt
    reason: Reason = ""


class RestartAnswer(_Base, tag="restart_answer"):
    call_id: CallId
    sdp: Sdp
    attempt: Attempt


class CallState(_Base, tag="call_state"):
    """A party's view of the call; ``connected`` closes a reconnect episode on the server."""

    call_id: CallId
    state: Literal["connected", "reconnecting"]


class Hangup(_Base, tag="hangup"):
    call_id: CallId
    reason: Reason = HangupReason.NORMAL


class Error(_Base, tag="error"):
    code: str
    message: str
    ref: MsgId | None = None


Message = (
    Hello
    | Welcome
    | Resume
    | Ping
    | Pong
    | Presence
    | CallRequest
    | Queued
    | Queue
    | Ringing
    | Ring
    | Accept
    | Accepted
    | Decline
    | RingTimeout
    | NoAgent
    | Offer
    | Answer
    | Candidate
    | RestartOffer
    | RestartAnswer
    | CallState
    | Hangup
    | CallTicketMsg
    | Reattach
    | Reattached
    | Notice
    | CallReport
    | WrapUp
    | Hold
    | AgentsRequest
    | AgentList
    | Transfer
    | Transferred
    | Transferring
    | Consult
    | Consulting
    | Error
)
RELAYED: Final = (Offer, Answer, Candidate, RestartOffer, RestartAnswer, CallState, Hangup)
SERVER_ONLY: Final = (
    Welcome,
    Pong,
    Queued,
    Queue,
    Ringing,
    Ring,
    Accepted,
    RingTimeout,
    NoAgent,
    CallTicketMsg,
    Reattached,
    Notice,
    WrapUp,
    AgentList,
    Transferred,
    Transferring,
    Consulting,
    Error,
)


class _Envelope(msgspec.Struct):
    id: MsgId | None = None


_decoder = msgspec.json.Decoder(Message)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_encoder = msgspec.json.Encoder()


def encode(msg: Message) -> str:
    return _encoder.encode(msg).decode()


def encode_bytes(msg: Message) -> bytes:
    """UTF-8 JSON; send with ``text=True`` to keep it a text frame without a decode."""
    return _encoder.encode(msg)


def decode(data: str | bytes) -> Message:
    """Parse one frame; raise :class:`ProtocolError` (with the frame's ``id`` if readable)."""
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        text = str(exc)
        code = (
            ErrorCode.UNKNOWN_TYPE
            if text.startswith("Invalid value") and text.endswith("`$.type`")
            else ErrorCode.INVALID_MESSAGE
        )
        raise ProtocolError(code, text, _ref_of(data)) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, str(exc)) from None


def _ref_of(data: str | bytes) -> str | None:
    try:
        return _envelope_decoder.decode(data).id
    except msgspec.MsgspecError:
        return None
