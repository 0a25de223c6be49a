"""docs/screenshots/[<language>/]{hold,transfer,consult-ring,consult,transferred-ring}.png: a
real call put on hold, then handed to a colleague after a consult.

In-process on loopback (no namespaces, no root): an embedded signaling server, this app's
shell signed in as Grace, a second agent (Linus: its own AgentSession and window), and a
Python visitor. Grace holds the call (her preview shows the hold picture the visitor now
gets, the header counts the hold time), opens Transfer (Linus is free), types a note and
picks "Talk first"; Linus's window rings for the consult, he answers, they talk (Grace's
window shows the consult bar), Grace completes the transfer and Linus's window rings for
the visitor with who transferred and why.
Run under X like the other screenshots: the Xvfb line of scripts/screenshots with
scripts/screenshot_hold_transfer.py.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync

from softphone.agent import AgentConfig, AgentSession
from softphone.rtc.ice import LOOPBACK, LOOPBACK_ONLY
from softphone.signaling.config import ServerConfig
from softphone.signaling.server import SignalingServer
from softphone.ui.controller import AgentController
from softphone.ui.main_window import MainWindow
from softphone.visitor.peer import VisitorConfig, VisitorPeer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_states import app_in_language, save, shown_window, signed_in_shell, until

AGENT, TOKEN = "Grace Hopper", "grace-token"
COLLEAGUE, COLLEAGUE_TOKEN = "Linus Torvalds", "linus-token"
# What the agent types: in the screenshot's language, like everything else on it.
NOTES = {
    "en": "Wants to change the billing address of order 1234",
    "de": "Möchte die Rechnungsadresse der Bestellung 1234 ändern",
}


async def main(out: Path, note: str) -> None:
    window = shown_window()
    tokens = {AGENT: TOKEN, COLLEAGUE: COLLEAGUE_TOKEN}
    async with (
        SignalingServer(ServerConfig(port=0, agent_tokens=tokens)) as server,
        signed_in_shell(window, server.url, AGENT, TOKEN, LOOPBACK_ONLY) as shell,
    ):
        linus = AgentSession(AgentConfig(server.url, COLLEAGUE_TOKEN, ice=LOOPBACK))
        linus_window = MainWindow()
        linus_window.resize(960, 620)
        linus_controller = AgentController(linus_window, linus, agent_name=COLLEAGUE)
        visitor = VisitorPeer(VisitorConfig(server.url, None, "Ada Lovelace", ice=LOOPBACK))
        call: asyncio.Task[object] | None = None
        try:
            call = asyncio.create_task(visitor.run())
            await until(lambda: window.pages.currentWidget() is window.incoming)
            window.incoming.accept_button.click()
            await until(lambda: window.call_view.remote_video.frames_shown > 30)
            window.call_view.hold_button.click()
            await until(lambda: visitor.on_hold)
            await asyncio.sleep(4.2)  # the hold time counts, the preview shows the hold picture
            save("hold", window, out)

            await linus.start()
            linus_controller.request_availability(True)
            await until(lambda: linus_window.available)
            window.call_view.transfer_button.click()
            controller = shell.controller
            assert controller is not None
            await until(lambda: controller.transfer_dialog is not None)
            dialog = controller.transfer_dialog
            assert dialog is not None
            dialog.note.setText(note)
            dialog.move(window.x() + (window.width() - dialog.width()) // 2, window.y() + 160)
            await asyncio.sleep(0.5)
            save("transfer", window, out, whole_screen=True)
            dialog.consult_button.click()  # talk to Linus first

            linus_window.move(0, 0)
            linus_window.show()
            await until(lambda: linus_window.pages.currentWidget() is linus_window.incoming)
            await asyncio.sleep(0.3)
            save("consult-ring", linus_window, out)
            consult_ring = linus_window.incoming.transfer.text()
            linus_window.incoming.accept_button.click()
            await until(window.call_view.complete_button.isEnabled)
            await until(lambda: linus_window.call_view.remote_video.frames_shown > 30)
            window.raise_()
            await asyncio.sleep(1.0)
            save("consult", window, out)
            window.call_view.complete_button.click()  # hand the visitor to Linus

            # The visitor's ring replaces the consult's: "Transferred by Grace Hopper: …"
            await until(lambda: linus_window.incoming.transfer.text() not in ("", consult_ring))
            await asyncio.sleep(0.5)
            save("transferred-ring", linus_window, out)
        finally:
            if call is not None:
                visitor.hangup()
                await asyncio.gather(call, return_exceptions=True)
            await linus_controller.close()
            await linus.stop()
    window.close()
    linus_window.close()


if __name__ == "__main__":
    run = app_in_language(__doc__.splitlines()[0])
    qasync.run(main(run.out, NOTES[run.language]))
