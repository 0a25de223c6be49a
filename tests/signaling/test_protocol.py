"""The typed protocol: round trips, stable error codes, and a fuzzed parser."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softphone.signaling import protocol
from softphone.signaling.protocol import (
    Candidate,
    ErrorCode,
    Hello,
    IceServer,
    Limits,
    ProtocolError,
    RestartOffer,
    Welcome,
    decode,
    encode,
)

SAMPLES = [
    Hello(protocol=1, role="visitor", name="Vera", site_key="k", page="https://shop/x", id="1"),
    Welcome(
        session_id="s1",
        resume_token="t",
        heartbeat_interval=10.0,
        limits=Limits(max_frame_bytes=65536, messages_per_second=50),
        ice_servers=[IceServer(urls=["turn:turn.test:3478"], username="u", credential="p")],
    ),
    Candidate(call_id="c", candidate=None, sdp_mid=None, sdp_mline_index=None, ufrag="uf"),
    RestartOffer(call_id="c", sdp="v=0", attempt=2, reason="network-change"),
    protocol.Presence(status="away", reason="Lunch"),
    protocol.WrapUp(call_id="c", seconds=30.0),
    protocol.Hold(call_id="c", on=True),
    protocol.Transfer(call_id="c", to="bob", note="refund <b>"),
    protocol.Ring(
        call_id="c",
        visitor=protocol.VisitorInfo(name="Vera"),
        timeout_s=30.0,
        transfer=protocol.TransferInfo(from_agent="alice", note="refund"),
    ),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: protocol.Message) -> None:
    assert decode(encode(msg)) == msg


def test_every_message_kind_is_in_the_union() -> None:
    tags = {cls.__struct_config__.tag for cls in protocol.Message.__args__}  # type: ignore[attr-defined]
    assert tags == {
        "hello",
        "welcome",
        "ticket",
        "reattach",
        "reattached",
        "notice",
        "call_report",
        "resume",
        "ping",
        "pong",
        "presence",
        "queued",
        "queue",
        "call_request",
        "ringing",
        "ring",
        "accept",
        "accepted",
        "decline",
        "ring_timeout",
        "no_agent",
        "offer",
        "answer",
        "candidate",
        "restart_offer",
        "restart_answer",
        "call_state",
        "hangup",
        "wrap_up",
        "hold",
        "agents",
        "agent_list",
        "transfer",
        "transferred",
        "transferring",
        "consult",
        "consulting",
        "error",
    }


def test_wire_shape_matches_the_agreed_protocol() -> None:
    wire = json.loads(encode(Candidate(call_id="c", candidate=None)))
    assert wire == {
        "type": "candidate",
        "id": None,
        "seq": None,  # stamped by the server on the way to the other party
        "call_id": "c",
        "candidate": None,
        "sdp_mid": None,
        "sdp_mline_index": None,
        "ufrag": None,
    }


@pytest.mark.parametrize(
    ("frame", "code", "ref"),
    [
        ("{not json", ErrorCode.BAD_JSON, None),
        ('{"type": "teleport", "id": "a"}', ErrorCode.UNKNOWN_TYPE, "a"),
        ('{"id": "b"}', ErrorCode.INVALID_MESSAGE, "b"),
        ('{"type": "offer", "call_id": "c", "id": "c1"}', ErrorCode.INVALID_MESSAGE, "c1"),
        (
            '{"type": "restart_offer", "call_id": "c", "sdp": "x", "attempt": -1}',
            ErrorCode.INVALID_MESSAGE,
            None,
        ),
        ('{"type": "hello", "protocol": 1, "role": "admin"}', ErrorCode.INVALID_MESSAGE, None),
        ("[1, 2]", ErrorCode.INVALID_MESSAGE, None),
        ('"hello"', ErrorCode.INVALID_MESSAGE, None),
    ],
)
def test_bad_frames_raise_stable_codes(frame: str, code: str, ref: str | None) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(frame)
    assert (caught.value.code, caught.value.ref) == (code, ref)


def test_unknown_fields_are_ignored() -> None:
    msg = decode('{"type": "ping", "id": "p", "future_field": [1, 2]}')
    assert msg == protocol.Ping(id="p")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
TYPES = sorted(cls.__struct_config__.tag for cls in protocol.Message.__args__)  # type: ignore[attr-defined]
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*TYPES, "nope"])},
    optional={
        "id": json_values,
        "call_id": json_values,
        "sdp": json_values,
        "attempt": json_values,
        "protocol": json_values,
        "role": json_values,
        "state": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_parser_never_fails_unexpectedly_on_garbage(data: bytes | str) -> None:
    try:
        decode(data)
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.BAD_JSON, ErrorCode.INVALID_MESSAGE, ErrorCode.UNKNOWN_TYPE}


@settings(max_examples=200, deadline=None)
@given(message_like)
def test_parser_accepts_or_rejects_message_like_objects_cleanly(obj: dict[str, object]) -> None:
    try:
        msg = decode(json.dumps(obj))
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.INVALID_MESSAGE, ErrorCode.UNKNOWN_TYPE}
        assert exc.ref == (obj["id"] if isinstance(obj.get("id"), str) else None)
    else:
        assert msg.__struct_config__.tag == obj["type"]
        assert decode(encode(msg)) == msg
        assert isinstance(msg, msgspec.Struct)
