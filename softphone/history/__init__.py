"""The agent's local call history: recent calls kept in SQLite in the platform data folder.

Qt-free. :class:`CallHistory` stores and searches records, :class:`CallRecorder` turns a call's
status events into one record, :func:`export_csv` writes what the agent sees to a spreadsheet.
"""

from softphone.history.export import export_csv
from softphone.history.recorder import CallRecorder
from softphone.history.records import CallRecord, Interruption, InterruptionOutcome
from softphone.history.store import CallHistory, HistoryProblem, default_history_path

__all__ = [
    "CallHistory",
    "CallRecord",
    "CallRecorder",
    "HistoryProblem",
    "Interruption",
    "InterruptionOutcome",
    "default_history_path",
    "export_csv",
]
