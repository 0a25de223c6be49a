"""The clean-root helper takes the mirror from the machine's own apt sources, in either format."""

from __future__ import annotations

from pathlib import Path

from tests.packaging.debian_root import FALLBACK_MIRROR, apt_mirror


def test_mirror_from_deb822_sources_skips_other_suites(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.mirror.test/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb deb-src\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\n"
    )
    assert apt_mirror(tmp_path) == "http://mirror.test/debian"


def test_mirror_from_one_line_sources_or_the_fallback(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    assert apt_mirror(tmp_path) == FALLBACK_MIRROR
    (tmp_path / "sources.list").write_text(
        "# local\ndeb [arch=amd64] http://mirror.test/debian bookworm main\n"
    )
    assert apt_mirror(tmp_path) == "http://mirror.test/debian"
