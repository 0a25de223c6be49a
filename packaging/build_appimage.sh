#!/usr/bin/env bash
# Builds the AppImage's AppDir from the one-folder bundle, packs it as a squashfs image and
# puts the project's AppImage runtime in front of it (appimagetool does no more than that).
# usage: packaging/build_appimage.sh
#   BUILD_DIR=build            where build.sh put dist/softphone; results go to dist/
#   APPIMAGE_RUNTIME=FILE      another AppImage type-2 runtime to use instead of compiling
#                              packaging/linux/appimage_runtime.c (packaging/README.md, "AppImage")
#   APPIMAGE_ZSTD_LEVEL=15     squashfs compression level (1 is fastest; tests use it)
#   SOFTPHONE_BUILD_PYTHON     as build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SOFTPHONE_BUILD_PYTHON:-.venv/bin/python}
export PY
out=${BUILD_DIR:-build}
bundle=$out/dist/softphone
[ -x "$bundle/softphone" ] || packaging/build.sh
start=$(date +%s)
version=$(PYTHONPATH=$PWD "$PY" -c "import softphone; print(softphone.__version__)")
arch=$(uname -m)

# First the runtime (a second to compile), so missing build dependencies stop the build early.
runtime=${APPIMAGE_RUNTIME:-}
if [ -z "$runtime" ]; then
  runtime=$out/appimage/runtime-${arch}
  mkdir -p "$out/appimage"
  packaging/linux/build_appimage_runtime.sh "$runtime"
fi
# A type-2 runtime is an ELF file with the AppImage magic "AI" 0x02 at offset 8.
[ "$(od -An -tx1 -j8 -N3 "$runtime" | tr -d ' ')" = 414902 ] \
  || { echo "appimage: $runtime is not an AppImage type-2 runtime" >&2; exit 1; }

appdir=$out/appimage/Softphone.AppDir
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/bin"
cp -a "$bundle" "$appdir/usr/lib/softphone"
rm -f "$appdir/usr/lib/softphone/softphone.desktop" "$appdir/usr/lib/softphone/softphone.svg"
ln -s ../lib/softphone/softphone "$appdir/usr/bin/softphone"
packaging/linux/install_desktop_files.sh "$appdir/usr"
# The runtime starts AppRun; the bundle's bootloader finds its files through /proc/self/exe,
# so a link is enough. The top-level desktop entry and icon are what AppImage tools read.
ln -s usr/bin/softphone "$appdir/AppRun"
cp packaging/linux/softphone.desktop "$appdir/softphone.desktop"
cp "$appdir/usr/share/icons/hicolor/256x256/apps/softphone.png" "$appdir/softphone.png"
ln -s softphone.png "$appdir/.DirIcon"

image=$out/appimage/softphone-${version}-${arch}.squashfs
rm -f "$image"
mksquashfs "$appdir" "$image" -root-owned -noappend -comp zstd \
  -Xcompression-level "${APPIMAGE_ZSTD_LEVEL:-15}" -quiet -no-progress >/dev/null
echo "AppDir: $(du -sh "$appdir" | cut -f1) ($appdir); squashfs $(du -h "$image" | cut -f1)"

appimage=$out/dist/Softphone-${version}-${arch}.AppImage
cat "$runtime" "$image" >"$appimage"
chmod 755 "$appimage"
echo "appimage: $(( $(date +%s) - start ))s; $(du -h "$appimage" | cut -f1) ($appimage)"
