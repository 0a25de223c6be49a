"""docs/screenshots/history.png: the history list filled by the real recorder and call model.

Each call is played through ``CallStateModel`` (connect, reconnect episodes, end) into a
``CallRecorder`` on a temp file, exactly as the session will feed it; then the view is shown
and grabbed. Run under X for real fonts: ``Xvfb :95 & DISPLAY=:95 QT_QPA_PLATFORM=xcb
.venv/bin/python scripts/screenshot_history.py`` (offscreen works too); ``--language de``
takes it in German into docs/screenshots/de/, as the other scripts do.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from softphone.call.state import RECONNECT_FAILED, CallStateModel, RestartOrigin
from softphone.history import CallHistory, CallRecorder
from softphone.ui.history_view import HistoryView

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_states import app_in_language

DAY_START = 1_796_112_000.0  # 2026-12-01 08:00 UTC
# What agents typed after three of the calls: in the screenshot's language.
NOTES = {
    "en": (
        "Wants the annual plan; send quote by Friday",
        "Line dropped at checkout — call back",
        "Password reset done",
    ),
    "de": (
        "Möchte das Jahresabo; Angebot bis Freitag schicken",
        "Verbindung an der Kasse abgebrochen — zurückrufen",
        "Passwort zurückgesetzt",
    ),
}
WIDTH = 1240


@dataclass(frozen=True)
class Ring:
    call_id: str
    visitor_name: str
    page: str | None


class Clock:
    def __init__(self) -> None:
        self.now = DAY_START

    def __call__(self) -> float:
        return self.now


def play(
    recorder: CallRecorder,
    clock: Clock,
    ring: Ring,
    script: list[tuple[str, float]],
    *,
    end_reason: str = "local-hangup",
    transferred_by: str | None = None,
) -> None:
    """Steps: ("talk", s), ("drop", attempts), ("back", recovered after s), ("peer", s)."""
    recorder.note_visitor(ring, transferred_by)
    model = CallStateModel(ring.call_id)
    model.changed.connect(recorder.record_status)
    recorder.record_status(model.status)
    clock.now += 4
    model.media_connected()
    for step, value in script:
        if step == "talk":
            clock.now += value
        elif step == "drop":
            for attempt in range(1, int(value) + 1):
                model.reconnecting(attempt, 3)
                clock.now += 3.1
        elif step == "back":
            model.recovered(value)
        elif step == "peer":
            model.reconnecting(0, 0, RestartOrigin.PEER)
            clock.now += value
            model.recovered(value)
    model.ended(end_reason)
    clock.now += 600


def main() -> None:
    run = app_in_language(__doc__.splitlines()[0])
    folder = Path(tempfile.mkdtemp())
    history = CallHistory(folder / "history.sqlite3")
    clock = Clock()
    recorder = CallRecorder(history, clock)
    talk, drop, back, peer = "talk", "drop", "back", "peer"
    play(recorder, clock, Ring("c1", "Ada Lovelace", "/pricing"), [(talk, 185)])
    play(
        recorder,
        clock,
        Ring("c2", "Élodie Martin", "/fr/tarifs"),
        [(talk, 60), (drop, 2), (back, 6.4), (talk, 240)],
    )
    play(
        recorder,
        clock,
        Ring("c3", "Kenji Watanabe", "/support/returns"),
        [(talk, 95), (peer, 0.9), (talk, 30)],
        transferred_by="Grace Hopper",
    )
    play(
        recorder,
        clock,
        Ring("c4", "Bob Smith", "/checkout"),
        [(talk, 40), (drop, 3)],
        end_reason=RECONNECT_FAILED,
    )
    play(recorder, clock, Ring("c5", "Grace", "/"), [(talk, 410)])
    for call_id, notes in zip(("c2", "c4", "c5"), NOTES[run.language], strict=True):
        history.set_notes(call_id, notes)
    view = HistoryView(history)
    view.resize(WIDTH, 300)
    view.show()
    run.app.processEvents()
    # Longer words (German) push the last column out of view: widen until it all shows.
    hidden = view.table.horizontalHeader().length() - view.table.viewport().width()
    if hidden > 0:
        view.resize(WIDTH + hidden, 300)
        run.app.processEvents()
    pixmap = view.grab()
    pixmap.save(str(run.out / "history.png"))
    print(f"saved history.png {pixmap.width()}x{pixmap.height()}")
    history.close()


if __name__ == "__main__":
    main()
