"""The measured phase of bench/signaling_load.py on bare sockets (in the lab, so tests reach it).

websockets sets each connection up (handshake, sign-in, call); then its transport is
handed to a :class:`RawLink`, which writes candidate frames built from a template and
parses the server's frames itself. On the host the nodes share, the generator's cost per
message is left to the nodes: websockets spent ~65 µs of CPU per message sent and received
(a task wake-up per frame each way, its reader and writer), enough that at 10,000 msg/s the
generator alone took most of a core.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

import msgspec

from softphone.signaling.protocol import Candidate, encode_bytes

MASK = b"\0\0\0\0"  # a client frame must be masked (RFC 6455 5.3); zeros leave it as is
_TS = "9" * 19  # where the send time (perf_counter_ns) goes; a placeholder of its width


class Received(msgspec.Struct):
    """What the receiving end needs of a frame (its type, call and send time); the
    product's validating decoder takes 1.5 times as long per frame."""

    type: str
    call_id: str = ""
    ufrag: str | None = None


_received = msgspec.json.Decoder(Received)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One unfragmented, masked client frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + MASK + payload


class RawLink(asyncio.Protocol):
    """One party's socket for the measured phase: sends its candidates when told, and
    takes the latency of each candidate its peer sent (send time in ``ufrag``)."""

    def __init__(
        self,
        transport: asyncio.Transport,
        call_id: str,
        *,
        expected: int,
        latencies: list[float],
        others: list[str],
        on_done: Callable[[BaseException | None], None],
    ) -> None:
        """Takes ``transport`` over from whoever set it up (websockets)."""
        self.transport = transport
        self.call_id = call_id
        self.expected = expected
        self.latencies = latencies
        self.others = others
        self._on_done = on_done
        self._buffer = bytearray()
        self.got = 0
        template = encode_bytes(
            Candidate(
                call_id=call_id,
                candidate="candidate:0 1 udp 2122260223 127.0.0.1 40000 typ host",
                sdp_mid="0",
                sdp_mline_index=0,
                ufrag=_TS,
            )
        )
        self._before, self._after = template.split(_TS.encode())
        transport.set_protocol(self)

    def send_next(self) -> None:
        stamp = str(time.perf_counter_ns()).encode()
        self.transport.write(client_frame(0x1, self._before + stamp + self._after))

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        at = 0
        while len(buf) - at >= 2:
            opcode, length = buf[at] & 0x0F, buf[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                if len(buf) - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buf, start)
                start += 2
            elif length == 127:
                if len(buf) - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buf, start)
                start += 8
            if len(buf) - start < length:
                break
            self._frame(opcode, bytes(buf[start : start + length]))
            at = start + length
        del buf[:at]

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # the server's keepalive: a late pong closes the socket
            self.transport.write(client_frame(0xA, payload))
        elif opcode == 0x8:
            self._finish(ConnectionError(f"closed by the server: {payload[2:]!r}"))
        elif opcode == 0x1:
            msg = _received.decode(payload)
            if msg.type == "candidate" and msg.call_id == self.call_id and msg.ufrag:
                self.latencies.append((time.perf_counter_ns() - int(msg.ufrag)) / 1e6)
                self.got += 1
                if self.got == self.expected:
                    self._finish(None)
            else:
                self.others.append(msg.type)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.got < self.expected:
            self._finish(exc or ConnectionError("socket closed"))

    def _finish(self, exc: BaseException | None) -> None:
        on_done, self._on_done = self._on_done, lambda _: None  # once
        on_done(exc)


async def relay(
    parties: list[tuple[asyncio.Transport, str]],
    count: int,
    interval: float,
    latencies: list[float],
    others: list[str],
) -> None:
    """Each party (a socket and its call) sends ``count`` candidates ``interval`` apart,
    the parties spread evenly over the interval, on one timer for all (a task per socket
    cost a wake-up per message). Returns when every party has received all its peer's;
    raises when a socket closes first. The caller closes the transports."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    waiting = len(parties)

    def finished(exc: BaseException | None) -> None:
        nonlocal waiting
        if done.done():
            return
        if exc is not None:
            done.set_exception(exc)
            return
        waiting -= 1
        if waiting == 0:
            done.set_result(None)

    links = [
        RawLink(t, call, expected=count, latencies=latencies, others=others, on_done=finished)
        for t, call in parties
    ]
    tick = 0.005
    slots = max(1, round(interval / tick))
    start = loop.time()
    for n in range(count * slots):
        for link in links[n % slots :: slots]:
            link.send_next()
        delay = start + (n + 1) * tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if done.done():
            break
    await done
