#!/usr/bin/env bash
# Builds the Debian package from the one-folder bundle (packaging/build.sh builds it when
# missing): /opt/softphone, /usr/bin/softphone, the desktop entry, hicolor icons, AppStream.
# usage: packaging/build_deb.sh
#   BUILD_DIR=build          where build.sh put dist/softphone; the .deb goes to dist/ too
#   DEB_REVISION=1           Debian revision: a rebuild of the same version gets a higher one
#   DEB_COMPRESSION=xz       dpkg-deb -Z (xz, zstd, gzip); SOFTPHONE_BUILD_PYTHON as build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SOFTPHONE_BUILD_PYTHON:-.venv/bin/python}
out=${BUILD_DIR:-build}
bundle=$out/dist/softphone
[ -x "$bundle/softphone" ] || packaging/build.sh
start=$(date +%s)
version=$(PYTHONPATH=$PWD "$PY" -c "import softphone; print(softphone.__version__)")
revision=${DEB_REVISION:-1}
arch=$(dpkg --print-architecture)
export PY

stage=$out/deb/softphone_${version}-${revision}_${arch}
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin"
cp -a "$bundle" "$stage/opt/softphone"
# build.sh puts these beside the binary for tar.gz users; the package installs them properly.
rm -f "$stage/opt/softphone/softphone.desktop" "$stage/opt/softphone/softphone.svg"
ln -s /opt/softphone/softphone "$stage/usr/bin/softphone"
packaging/linux/install_desktop_files.sh "$stage/usr"
install -Dm644 packaging/linux/copyright "$stage/usr/share/doc/softphone/copyright"
depends=$("$PY" packaging/linux/deb_depends.py "$stage" opt/softphone)
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: softphone
Version: ${version}-${revision}
Architecture: ${arch}
Maintainer: Softphone team <packaging@softphone.invalid>
Installed-Size: ${installed_kb}
Depends: ${depends}
Recommends: libasound2-plugins, pulseaudio | pipewire-pulse
Section: comm
Priority: optional
Description: desktop softphone for contact-center agents
 Visitors call from a widget on the website; the agent answers here with audio and
 video. Calls survive the network: a lost connection is detected within seconds and
 restored automatically, with "Reconnecting…" in the status bar meanwhile.
 .
 A self-contained build (Python, Qt and FFmpeg inside /opt/softphone); run
 "softphone --self-test" to check an installation.
CONTROL
deb=$out/dist/softphone_${version}-${revision}_${arch}.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
elapsed=$(( $(date +%s) - start ))
echo "deb: ${elapsed}s; $(du -h "$deb" | cut -f1) ($deb); installed ${installed_kb} KiB"
echo "Depends: ${depends}"
