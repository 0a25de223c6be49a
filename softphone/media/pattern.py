"""A virtual camera whose frames carry their own frame number and capture time.

The numbers are painted as a grid of black/white blocks in the luma plane, large enough
to survive VP8 at low bitrates, so the receiving side can decode them from *decoded*
frames and measure loss, gaps and latency end to end.
"""

from __future__ import annotations

import time
import zlib
from typing import NamedTuple

import av
from aiortc import MediaStreamTrack

from softphone.media.clock import FramePacer

COLUMNS = 16
ROWS = 5  # 32-bit frame number, 32-bit timestamp (ms), 16-bit check
BLOCK_ROWS_OF_FRAME = 15  # one block row is 1/15 of the frame height
BLACK, WHITE, GREY = 16, 235, 128  # video-range luma
_THRESHOLD = (BLACK + WHITE) // 2


class PatternStamp(NamedTuple):
    frame_number: int
    timestamp_ms: int  # wall clock modulo 2**32


def now_ms() -> int:
    """Wall-clock ms modulo 2**32: both ends of a local call share the clock."""
    return int(time.time() * 1000) & 0xFFFFFFFF


def _payload(stamp: PatternStamp) -> bytes:
    return stamp.frame_number.to_bytes(4, "big") + stamp.timestamp_ms.to_bytes(4, "big")


def _check(payload: bytes) -> int:
    # Keeps black frames, camera pictures and half-decoded frames from reading as numbers.
    return (zlib.crc32(payload) & 0xFFFF) ^ 0x5A5A


def encode_bits(stamp: PatternStamp) -> list[int]:
    payload = _payload(stamp)
    value = int.from_bytes(payload, "big") << 16 | _check(payload)
    return [(value >> (COLUMNS * ROWS - 1 - i)) & 1 for i in range(COLUMNS * ROWS)]


def decode_bits(bits: list[int]) -> PatternStamp | None:
    value = 0
    for bit in bits:
        value = value << 1 | bit
    payload = (value >> 16).to_bytes(8, "big")
    if value & 0xFFFF != _check(payload):
        return None
    return PatternStamp(int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:], "big"))


def _block(width: int, height: int) -> tuple[int, int]:
    return width // COLUMNS, height // BLOCK_ROWS_OF_FRAME


def paint_stamp(luma: bytearray, stride: int, width: int, height: int, stamp: PatternStamp) -> None:
    """Paint ``stamp`` into the top rows of a luma plane (``stride`` bytes per line)."""
    block_w, block_h = _block(width, height)
    bits = encode_bits(stamp)
    for row in range(ROWS):
        line = bytearray()
        for col in range(COLUMNS):
            line += bytes((WHITE if bits[row * COLUMNS + col] else BLACK,)) * block_w
        for y in range(row * block_h, (row + 1) * block_h):
            luma[y * stride : y * stride + len(line)] = line


def read_stamp(luma: bytes, stride: int, width: int, height: int) -> PatternStamp | None:
    """Read a stamp back by sampling the middle of each block; ``None`` if there is none."""
    block_w, block_h = _block(width, height)
    if block_w < 4 or block_h < 4:
        return None
    bits = []
    for row in range(ROWS):
        y0 = row * block_h + block_h // 4
        ys = (y0, y0 + block_h // 4, y0 + block_h // 2)
        for col in range(COLUMNS):
            x0 = col * block_w + block_w // 4
            xs = (x0, x0 + block_w // 4, x0 + block_w // 2)
            total = sum(luma[y * stride + x] for y in ys for x in xs)
            bits.append(1 if total > _THRESHOLD * 9 else 0)
    return decode_bits(bits)


def read_frame_stamp(frame: av.VideoFrame) -> PatternStamp | None:
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    return read_stamp(bytes(plane), plane.line_size, frame.width, frame.height)


class TestPatternTrack(MediaStreamTrack):
    """The demo/self-test camera: grey background, a moving bar and the stamp grid."""

    __test__ = False  # not a pytest class despite the name
    kind = "video"

    def __init__(self, width: int = 640, height: int = 360, fps: float = 30.0) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._pacer = FramePacer(90_000, fps)
        self._frame_number = 0
        self._planes: tuple[bytes, bytes, bytes] | None = None

    def _background(self, frame: av.VideoFrame) -> tuple[bytes, bytes, bytes]:
        if self._planes is None:
            y, u, v = frame.planes
            self._planes = (
                bytes((GREY,)) * (y.line_size * self.height),
                bytes((GREY,)) * (u.line_size * (self.height // 2)),
                bytes((GREY,)) * (v.line_size * (self.height // 2)),
            )
        return self._planes

    async def recv(self) -> av.VideoFrame:
        pts = await self._pacer.next_pts()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        y_bg, u_bg, v_bg = self._background(frame)
        stride = frame.planes[0].line_size
        luma = bytearray(y_bg)
        stamp = PatternStamp(self._frame_number & 0xFFFFFFFF, now_ms())
        paint_stamp(luma, stride, self.width, self.height, stamp)
        bar_x = (self._frame_number * 8) % max(1, self.width - 32)
        white_bar = bytes((WHITE,)) * 32
        for y in range(self.height // 2, self.height):
            luma[y * stride + bar_x : y * stride + bar_x + 32] = white_bar
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(u_bg)
        frame.planes[2].update(v_bg)
        frame.pts = pts
        frame.time_base = self._pacer.time_base
        self._frame_number += 1
        return frame
