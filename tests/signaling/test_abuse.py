"""Bad input earns an error frame and never disturbs other calls; abuse closes the socket."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from softphone.signaling.protocol import (
    PROTOCOL_VERSION,
    Error,
    ErrorCode,
    Hello,
    Offer,
    Ping,
    Pong,
)


async def test_bad_frames_get_error_frames_and_the_call_goes_on(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    rogue = await connect("visitor", name="Rogue")

    cases: list[tuple[str | bytes, str, str | None]] = [
        ("{oops", ErrorCode.BAD_JSON, None),
        ('{"type": "warp", "id": "w"}', ErrorCode.UNKNOWN_TYPE, "w"),
        ('{"type": "offer", "id": "o"}', ErrorCode.INVALID_MESSAGE, "o"),
        ('{"type": "offer", "call_id": 5, "sdp": "x"}', ErrorCode.INVALID_MESSAGE, None),
        (b"\x00\x01binary", ErrorCode.BINARY_FRAME, None),
        (
            '{"type": "ring", "call_id": "c", "visitor": {"name": "x"}, "timeout_s": 1, "id": "r"}',
            ErrorCode.UNEXPECTED,
            "r",
        ),
        (
            '{"type": "hello", "protocol": 1, "role": "agent", "id": "h"}',
            ErrorCode.ALREADY_AUTHENTICATED,
            "h",
        ),
        (f'{{"type": "hangup", "call_id": "{call_id}", "id": "x"}}', ErrorCode.NOT_IN_CALL, "x"),
    ]
    for frame, code, ref in cases:
        await rogue.ws.send(frame)
        error = await rogue.expect(Error)
        assert (error.code, error.ref) == (code, ref), frame

    await alice.silent(0.05)
    await visitor.send(Offer(call_id=call_id, sdp="still fine"))
    assert (await alice.expect(Offer)).sdp == "still fine"
    await rogue.send(Ping(id="alive"))
    assert (await rogue.expect(Pong)).ref == "alive"


async def test_messages_before_hello_are_refused(connect):
    peer = await connect()
    await peer.send(Offer(call_id="c", sdp="x", id="early"))
    error = await peer.expect(Error)
    assert (error.code, error.ref) == (ErrorCode.NOT_AUTHENTICATED, "early")
    await peer.send(Ping())
    await peer.expect(Pong)


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        (Hello(protocol=PROTOCOL_VERSION, role="agent", token="wrong"), ErrorCode.UNAUTHORIZED),
        (Hello(protocol=PROTOCOL_VERSION, role="agent"), ErrorCode.UNAUTHORIZED),
        (Hello(protocol=PROTOCOL_VERSION, role="visitor", site_key="nope"), ErrorCode.UNAUTHORIZED),
        # A visitor's site key is not an agent token: no way to act as an agent.
        (
            Hello(protocol=PROTOCOL_VERSION, role="agent", site_key="site-key-1"),
            ErrorCode.UNAUTHORIZED,
        ),
        (Hello(protocol=99, role="visitor", site_key="site-key-1"), ErrorCode.PROTOCOL_VERSION),
    ],
)
async def test_rejected_hello_closes_with_policy_violation(connect, hello, code):
    peer = await connect()
    await peer.send(hello)
    assert (await peer.expect(Error)).code == code
    with pytest.raises(ConnectionClosed) as closed:
        await peer.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_tokens_never_reach_the_logs(connect, caplog):
    await connect("agent", "alice")
    peer = await connect()
    await peer.send(Hello(protocol=PROTOCOL_VERSION, role="agent", token="guess-me"))
    await peer.expect(Error)
    text = caplog.text + "".join(repr(vars(r)) for r in caplog.records)
    assert "token-alice" not in text and "guess-me" not in text


@pytest.mark.server_config(max_frame=1024)
async def test_oversize_frame_closes_with_1009(connect, start_call):
    alice = await connect("agent", "alice")
    visitor = await connect("visitor")
    call_id = await start_call(alice, visitor)
    big = await connect("visitor", name="Big")
    await big.ws.send("x" * 2048)
    with pytest.raises(ConnectionClosed) as closed:
        await big.recv()
    assert closed.value.sent is not None and closed.value.sent.code == 1009
    await visitor.send(Offer(call_id=call_id, sdp="unaffected"))
    assert (await alice.expect(Offer)).sdp == "unaffected"


@pytest.mark.server_config(rate_per_second=5, rate_burst=5, flood_strikes=10)
async def test_flood_is_rate_limited_then_closed_with_1008(connect):
    alice = await connect("agent", "alice")
    flooder = await connect("visitor", name="Flood")
    for _ in range(40):
        try:
            await flooder.send(Ping())
        except ConnectionClosed:
            break
    codes = []
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(60):
            msg = await flooder.recv()
            codes.append(msg.code if isinstance(msg, Error) else type(msg).__name__)
    assert codes.count("Pong") == 4  # the burst of 5, less the hello
    # Up to 9 errors (the 10th strike closes instead; the close may overtake the last ones).
    assert 5 <= codes.count(ErrorCode.RATE_LIMITED) <= 9
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    await alice.send(Ping(id="ok"))
    assert (await alice.expect(Pong)).ref == "ok"
    await alice.silent(0.05)
