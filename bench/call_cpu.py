"""CPU and event-loop cost of a 640x360@30 two-way call inside one process.

Two CallPeers on loopback send the test pattern and tone to each other (VP8 + Opus,
encode/decode both ways: twice an agent's load). Prints a Markdown table.

    .venv/bin/python bench/call_cpu.py [--seconds 10] [--warmup 2] [--gui]

``--gui`` runs it as the app does: on the qasync loop, each side's remote video converted
off the GUI thread and painted in the app's ``VideoView`` (offscreen unless DISPLAY is set).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from aiortc import MediaStreamTrack

from softphone.media.local import MediaChoice, open_local_media
from softphone.rtc.ice import LOOPBACK
from softphone.rtc.peer import CallPeer

TIMER_INTERVAL = 0.010
LOOP_KIND = {False: "plain asyncio loop", True: "qasync loop + VideoView"}


async def measure_lateness(stop: asyncio.Event, samples: list[float]) -> None:
    """How late a 10 ms timer fires: what a GUI repaint or a ping would suffer."""
    while not stop.is_set():
        due = time.perf_counter() + TIMER_INTERVAL
        await asyncio.sleep(TIMER_INTERVAL)
        samples.append(max(0.0, time.perf_counter() - due) * 1000)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def lateness_for(seconds: float) -> list[float]:
    samples: list[float] = []
    stop = asyncio.Event()
    timer = asyncio.create_task(measure_lateness(stop, samples))
    await asyncio.sleep(seconds)
    stop.set()
    await timer
    return samples


class GuiRendering:
    """Both sides' remote video painted in the app's VideoView, counting frames shown."""

    def __init__(self, peers: tuple[CallPeer, ...]) -> None:
        from softphone.ui.video_view import VideoRenderer, VideoView

        self.views = [VideoView() for _ in peers]
        self.renderers: list[VideoRenderer] = []
        self.rendered = [0 for _ in peers]
        for index, (peer, view) in enumerate(zip(peers, self.views, strict=True)):
            view.resize(640, 360)
            view.show()
            original = view.set_image

            def counting_set_image(image: object, i: int = index, show: object = original) -> None:
                self.rendered[i] += 1
                show(image)  # type: ignore[operator]

            view.set_image = counting_set_image  # type: ignore[method-assign]

            def on_track(track: MediaStreamTrack, v: VideoView = view) -> None:
                if track.kind == "video":
                    self.renderers.append(VideoRenderer(track, v))

            peer.remote_track.connect(on_track)

    async def close(self) -> None:
        for renderer in self.renderers:
            await renderer.close()
        for view in self.views:
            view.close()


async def run(seconds: float, warmup: float, gui: bool) -> str:
    # The same timer on an idle loop first: separates the call's cost from machine load.
    idle = await lateness_for(min(seconds, 5.0))
    choice = MediaChoice(width=640, height=360, fps=30)
    a = CallPeer("bench", LOOPBACK, open_local_media(choice))
    b = CallPeer("bench", LOOPBACK, open_local_media(choice))
    rendering = GuiRendering((a, b)) if gui else None
    try:
        await a.accept_answer(await b.accept_offer(await a.create_offer()))
        await asyncio.sleep(warmup)
        await a.stats()  # baseline for the bitrate over the measured window
        frames_before = [p.received("video").frames for p in (a, b)]
        rendered_before = list(rendering.rendered) if rendering else [0, 0]
        cpu_before, wall_before = os.times(), time.perf_counter()
        lateness = await lateness_for(seconds)
        cpu_after, wall = os.times(), time.perf_counter() - wall_before
        fps = [
            (p.received("video").frames - n) / wall
            for p, n in zip((a, b), frames_before, strict=True)
        ]
        rendered_fps = [
            (after - before) / wall
            for after, before in zip(
                rendering.rendered if rendering else [0, 0], rendered_before, strict=True
            )
        ]
        gaps = max(p.received("video").max_gap for p in (a, b))
        stats = await a.stats()
    finally:
        if rendering is not None:
            await rendering.close()
        await a.close()
        await b.close()
    cpu = (cpu_after.user - cpu_before.user + cpu_after.system - cpu_before.system) / wall
    rows = [
        ("process CPU (both peers, % of one core)", f"{cpu * 100:.0f} %"),
        ("per call side (half of the above)", f"{cpu * 50:.0f} %"),
        ("frames decoded/s, side A / side B", f"{fps[0]:.1f} / {fps[1]:.1f}"),
        ("largest frame-number gap", str(gaps)),
        *(
            [
                (
                    "frames painted/s in VideoView, A / B",
                    f"{rendered_fps[0]:.1f} / {rendered_fps[1]:.1f}",
                )
            ]
            if gui
            else []
        ),
        ("loop lateness of a 10 ms timer, p50", f"{statistics.median(lateness):.2f} ms"),
        ("loop lateness of a 10 ms timer, p99", f"{percentile(lateness, 99):.2f} ms"),
        ("loop lateness, max", f"{max(lateness):.2f} ms"),
        (
            "idle-loop baseline p50 / p99 (machine load)",
            f"{statistics.median(idle):.2f} / {percentile(idle, 99):.2f} ms",
        ),
        ("outgoing bitrate (side A)", f"{stats.bitrate_out_kbps:.0f} kbit/s"),
    ]
    header = (
        f"640x360@30 two-way call, one process, {LOOP_KIND[gui]}, {seconds:.0f} s "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})\n\n"
        "| metric | value |\n| --- | --- |\n"
    )
    return header + "\n".join(f"| {name} | {value} |" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--gui", action="store_true", help="qasync loop + the app's VideoView")
    args = parser.parse_args()
    if not args.gui:
        print(asyncio.run(run(args.seconds, args.warmup, gui=False)))
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing the views must not stop the loop
    loop = qasync.QEventLoop(app)
    with loop:
        print(loop.run_until_complete(run(args.seconds, args.warmup, gui=True)))


if __name__ == "__main__":
    main()
