"""A plain aiortc peer (no Softphone reconnection) for the network-fault baseline.

Runs inside a network namespace, signs in to the real signaling server, sends the test
pattern and prints JSON lines: ``{"ev": "state", ...}`` on every aiortc state change and
``{"ev": "frame", "n": ..., "lat": ms}`` for decoded frames, each with wall-clock ``t`` so
the parent can time faults across processes. The visitor calls, the agent answers.

    python -m labnet.aiortc_peer --url ws://198.18.1.1:8765/ws --role agent --token T
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncGenerator
from typing import cast

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from softphone.media.pattern import TestPatternTrack, now_ms, read_frame_stamp
from softphone.signaling.client import SignalingClient
from softphone.signaling.protocol import (
    Accept,
    Accepted,
    Answer,
    CallRequest,
    Message,
    Offer,
    Ring,
)


def emit(ev: str, **fields: object) -> None:
    print(json.dumps({"ev": ev, "t": time.time(), **fields}), flush=True)


async def consume(track: MediaStreamTrack, every: int) -> None:
    """Report decoded video frame numbers (every ``every``-th, to keep stdout small)."""
    count = 0
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            count += 1
            if isinstance(frame, av.VideoFrame) and count % every == 0:
                stamp = read_frame_stamp(frame)
                if stamp is not None:
                    lat = (now_ms() - stamp.timestamp_ms) & 0xFFFFFFFF
                    emit("frame", n=stamp.frame_number, lat=lat)


async def call(args: argparse.Namespace, client: SignalingClient, stop: asyncio.Event) -> None:
    # Never aiortc's default STUN server (docs/architecture.md "Network rules"): host
    # candidates only.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tasks: set[asyncio.Task[None]] = set()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        tasks.add(asyncio.ensure_future(consume(track, args.frame_every)))

    @pc.on("connectionstatechange")
    @pc.on("iceconnectionstatechange")
    def on_state() -> None:
        emit("state", conn=pc.connectionState, ice=pc.iceConnectionState)

    messages = cast(AsyncGenerator[Message, None], client.messages())
    try:
        if args.role == "visitor":
            await client.send(CallRequest())
            async for msg in messages:
                if isinstance(msg, Accepted):
                    pc.addTrack(TestPatternTrack(320, 180, 15))
                    await pc.setLocalDescription(await pc.createOffer())
                    await client.send(Offer(call_id=msg.call_id, sdp=pc.localDescription.sdp))
                elif isinstance(msg, Answer):
                    await pc.setRemoteDescription(RTCSessionDescription(msg.sdp, "answer"))
                    break
        else:
            async for msg in messages:
                if isinstance(msg, Ring):
                    await client.send(Accept(call_id=msg.call_id))
                elif isinstance(msg, Offer):
                    await pc.setRemoteDescription(RTCSessionDescription(msg.sdp, "offer"))
                    pc.addTrack(TestPatternTrack(320, 180, 15))
                    await pc.setLocalDescription(await pc.createAnswer())
                    await client.send(Answer(call_id=msg.call_id, sdp=pc.localDescription.sdp))
                    break
        emit("negotiated")
        await stop.wait()
    finally:
        await messages.aclose()
        await pc.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def main_async(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    client = SignalingClient(args.url, args.role, token=args.token, name=args.name)
    try:
        await client.connect(timeout=10)
        emit("signed_in", role=args.role)
        await call(args, client, stop)
    finally:
        await client.close()
        emit("exit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--role", choices=["agent", "visitor"], required=True)
    parser.add_argument("--token")
    parser.add_argument("--name", help="agent: whose token it is; visitor: a display name")
    parser.add_argument("--frame-every", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
