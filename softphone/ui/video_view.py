"""Video rendering: frames are converted to QImage off the GUI thread (docs/qt-notes.md:
rgb24 + plane buffer had the lowest jitter) and painted scaled with their aspect ratio."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from softphone.ui.session_bridge import gui_thread_only

log = logging.getLogger(__name__)


def frame_to_qimage(frame: av.VideoFrame) -> QImage:
    """Runs in a worker thread; QImage (unlike QPixmap) is safe there. The copy detaches
    the image from PyAV's buffer, which the next reformat reuses."""
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    image = QImage(
        bytes(plane), rgb.width, rgb.height, plane.line_size, QImage.Format.Format_RGB888
    )
    return image.copy()


class VideoView(QWidget):
    """Paints the newest image letterboxed on a dark background, or a placeholder text."""

    first_frame = Signal()

    def __init__(
        self, placeholder: str = "", parent: QWidget | None = None, *, framed: bool = False
    ) -> None:
        super().__init__(parent)
        self._framed = framed  # an edge sets a picture-in-picture apart from the video below
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.frames_shown = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(640, 360)

    @gui_thread_only
    def set_image(self, image: QImage | None) -> None:
        if image is not None and self._image is None:
            self.first_frame.emit()
        self._image = image
        if image is not None:
            self.frames_shown += 1
        self.update()

    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def image_rect(self) -> QRect:
        """Where the image lands: as large as fits, centred, aspect ratio kept."""
        if self._image is None:
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1d2330"))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.image_rect(), self._image)
        elif self._placeholder:
            painter.setPen(QColor("#aab3c5"))
            font = QFont(self.font())
            font.setPointSizeF(max(9.0, min(16.0, self.height() / 18)))
            painter.setFont(font)
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._placeholder,
            )
        if self._framed:
            painter.setPen(QPen(QColor("#e5e9f0"), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect().adjusted(1, 1, -1, -1))


class VideoRenderer:
    """Consumes one remote track into a view. The track (a FrameTap) keeps only the newest
    frame, so while a conversion runs older frames are dropped rather than queued."""

    def __init__(self, track: MediaStreamTrack, view: VideoView) -> None:
        self._track = track
        self._view = view
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-convert")
        self.task = asyncio.create_task(self._run(), name="ui-remote-video")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self._track.recv()
                if not isinstance(frame, av.VideoFrame):
                    continue
                image = await loop.run_in_executor(self._executor, frame_to_qimage, frame)
                self._view.set_image(image)
        except MediaStreamError:
            log.debug("ui.remote_video_ended")
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
