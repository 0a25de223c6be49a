"""The visitor widget at ``/widget/``: mounted by default, so ``softphone-server`` alone
serves the page a website embeds (a ``static_dirs`` entry for ``/widget`` overrides it).

The widget's files are ASCII (the HTML declares utf-8), so the charset-less content types
``HttpRoutes`` derives from the file name are enough.
"""

from __future__ import annotations

from collections.abc import Mapping

from softphone.resources import resource_path
from softphone.signaling.http import HttpRoutes

WIDGET_PREFIX = "/widget"


def mount_widget(routes: HttpRoutes, static_dirs: Mapping[str, str]) -> None:
    directory = resource_path("widget")
    if WIDGET_PREFIX not in static_dirs and directory.is_dir():
        routes.mount_static(WIDGET_PREFIX, directory)
