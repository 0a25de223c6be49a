"""docs/screenshots/wrap-up.png: the real window after a real call, in wrap-up.

``--language de`` takes it in German into docs/screenshots/de/, as the other scripts do.

In-process on loopback (no namespaces, no root): an embedded signaling server with its
default wrap-up, this app's shell signed in, a Python visitor that talks for two seconds
and hangs up, and a second visitor left waiting so the queue label has something to say.
Run under X like the other screenshots: scripts/screenshots runs screenshot_states.py;
for this one, the same Xvfb line with scripts/screenshot_wrap_up.py.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync

from softphone.rtc.ice import LOOPBACK, LOOPBACK_ONLY
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.visitor.peer import VisitorConfig, VisitorPeer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_states import app_in_language, save, shown_window, signed_in_shell, until

AGENT, TOKEN = "Grace Hopper", "grace-token"
# What the agent types: in the screenshot's language, like everything else on it.
NOTES = {
    "en": "Asked about the annual plan; sent the pricing link.",
    "de": "Fragte nach dem Jahresabo; Link zur Preisliste geschickt.",
}


async def main(out: Path, notes: str) -> None:
    window = shown_window()
    async with SignalingServer(ServerConfig(port=0, agent_tokens={AGENT: TOKEN})) as server:
        waiting: asyncio.Task[object] | None = None
        async with signed_in_shell(window, server.url, AGENT, TOKEN, LOOPBACK_ONLY):
            try:
                first = VisitorConfig(server.url, None, "Ada Lovelace", ice=LOOPBACK, duration=2.0)
                call = asyncio.create_task(VisitorPeer(first).run())
                await until(lambda: window.pages.currentWidget() is window.incoming)
                window.incoming.accept_button.click()
                await call
                await until(window.wrap_up.isVisible)
                second = VisitorPeer(VisitorConfig(server.url, None, "Linus", ice=LOOPBACK))
                waiting = asyncio.create_task(second.run())
                await until(lambda: window.queue_label.text().startswith("1 "))
                window.wrap_up.notes.setPlainText(notes)
                await asyncio.sleep(3.2)  # the countdown ticks, the waiting visitor's wait grows
                save("wrap-up", window, out)
            finally:
                if waiting is not None:
                    waiting.cancel()
                    await asyncio.gather(waiting, return_exceptions=True)
    window.close()


if __name__ == "__main__":
    run = app_in_language(__doc__.splitlines()[0])
    qasync.run(main(run.out, NOTES[run.language]))
