"""Renders the app's SVG icon into the hicolor theme's fixed sizes (PNG) plus `scalable`.

Some panels, docks and software centres only look at PNG sizes, so a package ships both.
usage: python packaging/linux/render_icons.py ICON.svg DEST/usr/share/icons/hicolor
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, hicolor: Path, name: str = "softphone") -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: not a valid SVG: {svg}")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = hicolor / f"{size}x{size}" / "apps" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"render_icons: cannot write {target}")
        written.append(target)
    scalable = hicolor / "scalable" / "apps" / f"{name}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    return [*written, scalable]


if __name__ == "__main__":
    for path in render(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
