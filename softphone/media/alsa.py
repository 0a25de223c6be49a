"""ALSA configuration for PyAV's bundled libasound.

The wheel's libasound was built with a config directory that does not exist on the
target, so every ALSA open fails ("Unknown PCM default") unless the environment points
it at the system's files. See docs/qt-notes.md "Audio and devices on Linux".
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_CONFIG = Path("/usr/share/alsa/alsa.conf")
PLUGIN_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/alsa-lib"),
    Path("/usr/lib/aarch64-linux-gnu/alsa-lib"),
    Path("/usr/lib64/alsa-lib"),
    Path("/usr/lib/alsa-lib"),
)


def use_system_alsa_config(env: MutableMapping[str, str] | None = None) -> bool:
    """Point libasound at the system config (call before the first ALSA open).

    Keeps values the user set; returns whether a usable config is in place.
    """
    env = os.environ if env is None else env
    if "ALSA_CONFIG_PATH" not in env and SYSTEM_CONFIG.exists():
        env["ALSA_CONFIG_PATH"] = str(SYSTEM_CONFIG)
    if "ALSA_PLUGIN_DIR" not in env:
        plugin_dir = next((d for d in PLUGIN_DIRS if d.is_dir()), None)
        if plugin_dir is not None:
            env["ALSA_PLUGIN_DIR"] = str(plugin_dir)
    configured = "ALSA_CONFIG_PATH" in env
    log.info(
        "media.alsa_config",
        extra={"config": env.get("ALSA_CONFIG_PATH"), "plugins": env.get("ALSA_PLUGIN_DIR")},
    )
    return configured


def virtual_microphone_config(raw_file: Path) -> str:
    """A standalone ALSA config whose ``default`` capture reads raw samples from ``raw_file``.

    A ``file`` PCM over a ``null`` PCM with an ``infile`` goes through the real ALSA
    capture path, so tests and machines without a sound card have a microphone.
    """
    return f"""
pcm.!default {{
    type file
    slave.pcm {{ type null }}
    file "/dev/null"
    infile "{raw_file}"
    format "raw"
}}
"""
