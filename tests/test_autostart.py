from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from softphone.autostart import (
    MARKER,
    apply_autostart,
    autostart_path,
    desktop_entry,
    exec_value,
    launch_command,
)
from softphone.settings import Settings, load_settings


def test_off_by_default_and_switchable_in_the_settings_file(tmp_path: Path) -> None:
    assert Settings().start_with_session is False
    (tmp_path / "config.toml").write_text("start_with_session = true\n")
    assert load_settings(tmp_path / "config.toml").start_with_session is True


def test_entry_goes_to_the_xdg_config_folder_and_ignores_a_relative_one() -> None:
    home = Path.home()
    assert autostart_path({"XDG_CONFIG_HOME": "/srv/cfg"}) == Path(
        "/srv/cfg/autostart/softphone.desktop"
    )
    assert (
        autostart_path({"XDG_CONFIG_HOME": "cfg"}) == home / ".config/autostart/softphone.desktop"
    )
    assert autostart_path({}) == home / ".config/autostart/softphone.desktop"


def test_switching_on_writes_a_valid_entry_and_off_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "autostart" / "softphone.desktop"
    assert apply_autostart(True, ["/opt/softphone/softphone"], path)
    text = path.read_text()
    assert "Exec=/opt/softphone/softphone\n" in text
    assert MARKER in text.splitlines()
    # desktop-file-validate comes with scripts/test's Debian packages (packaging tools).
    check = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    assert apply_autostart(False, path=path)
    assert not path.exists()
    assert apply_autostart(False, path=path)  # already off: nothing to do, no error


def test_switching_off_keeps_an_entry_the_app_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "softphone.desktop"
    own = "[Desktop Entry]\nType=Application\nName=Softphone\nExec=softphone --demo\n"
    path.write_text(own)
    assert apply_autostart(False, path=path)
    assert path.read_text() == own


def test_switching_on_again_rewrites_a_stale_command(tmp_path: Path) -> None:
    path = tmp_path / "softphone.desktop"
    apply_autostart(True, ["/old/place/softphone"], path)
    apply_autostart(True, ["/opt/softphone/softphone"], path)
    assert path.read_text() == desktop_entry(["/opt/softphone/softphone"])
    assert [p.name for p in tmp_path.iterdir()] == ["softphone.desktop"]  # no partial left


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["softphone"], "softphone"),
        (["/home/ana/My Apps/Softphone.AppImage"], '"/home/ana/My Apps/Softphone.AppImage"'),
        (["/tmp/100%/soft"], "/tmp/100%%/soft"),
        (['/a"b$c/x'], r'"/a\\"b\\$c/x"'),  # quoting escape, then the string escape
        ([sys.executable, "-m", "softphone"], f"{sys.executable} -m softphone"),
    ],
)
def test_exec_line_quotes_and_escapes_per_the_desktop_entry_spec(
    command: list[str], expected: str
) -> None:
    assert exec_value(command) == expected


def test_a_failure_is_logged_never_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "autostart"
    blocker.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        assert not apply_autostart(True, ["softphone"], blocker / "softphone.desktop")
        assert not apply_autostart(True, ["/bad\npath"], tmp_path / "x.desktop")
    assert [r.message for r in caplog.records] == ["autostart.failed", "autostart.failed"]
    assert not (tmp_path / "x.desktop").exists()


def test_launch_command_prefers_the_appimage_file_then_the_frozen_binary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert launch_command({"APPIMAGE": "/home/ana/Softphone.AppImage"}) == [
        "/home/ana/Softphone.AppImage"
    ]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert launch_command({}) == [sys.executable]
