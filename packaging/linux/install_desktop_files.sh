#!/usr/bin/env bash
# Validates and installs the desktop integration under PREFIX (e.g. STAGE/usr): the desktop
# entry, AppStream metadata and hicolor icons. Shared by build_deb.sh and build_appimage.sh.
# usage: packaging/linux/install_desktop_files.sh PREFIX   (run from the repo root; PY set)
set -euo pipefail
prefix=$1
PY=${PY:?interpreter with PySide6}
linux=packaging/linux
app_id=io.github.softphone.Softphone
version=$(PYTHONPATH=$PWD "$PY" -c "import softphone; print(softphone.__version__)")
grep -q "<release version=\"$version\"" "$linux/$app_id.metainfo.xml" \
  || { echo "$linux/$app_id.metainfo.xml has no <release> for $version" >&2; exit 1; }
desktop-file-validate "$linux/softphone.desktop"
appstreamcli validate --no-net --no-color "$linux/$app_id.metainfo.xml" >/dev/null \
  || { appstreamcli validate --no-net "$linux/$app_id.metainfo.xml" >&2; exit 1; }
install -Dm644 "$linux/softphone.desktop" "$prefix/share/applications/softphone.desktop"
install -Dm644 "$linux/$app_id.metainfo.xml" "$prefix/share/metainfo/$app_id.metainfo.xml"
PYTHONPATH=$PWD "$PY" "$linux/render_icons.py" resources/icons/softphone.svg \
  "$prefix/share/icons/hicolor" >/dev/null
