"""The desktop entry and AppStream metadata that every Linux package ships (fast checks)."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from softphone import __version__
from softphone.app import build_parser

LINUX = Path(__file__).parents[2] / "packaging" / "linux"
DESKTOP = LINUX / "softphone.desktop"
METAINFO = LINUX / "io.github.softphone.Softphone.metainfo.xml"


def _entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP)
    return parser["Desktop Entry"]


def test_desktop_entry_and_appstream_metadata_validate() -> None:
    # Both validators come with scripts/test's Debian packages (packaging tools).
    desktop = subprocess.run(
        ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False
    )
    assert desktop.returncode == 0 and not desktop.stdout.strip(), desktop.stdout
    appstream = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert appstream.returncode == 0, appstream.stdout


def test_desktop_exec_starts_the_app_with_arguments_its_cli_accepts() -> None:
    """A second start from the menu runs this same command, which reaches the running app's
    single-instance socket; a field code like %U would hand it arguments argparse rejects."""
    program, *args = shlex.split(_entry()["Exec"])
    assert program == "softphone"
    assert not any(arg.startswith("%") for arg in args)
    build_parser().parse_args(args)


def test_metainfo_names_the_desktop_entry_and_this_version() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == METAINFO.name.removesuffix(".metainfo.xml")
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert __version__ in [r.get("version") for r in root.iter("release")]
    assert _entry()["Icon"] == "softphone"  # render_icons.py writes softphone.png/.svg
