#!/usr/bin/env bash
# Builds the one-folder bundle and a versioned tar.gz, then checks the frozen app runs.
# usage: packaging/build.sh    (uses .venv and installs PyInstaller into it; BUILD_DIR=build)
#   SOFTPHONE_BUILD_PYTHON=/path/to/python uses that interpreter as it is (PyInstaller already
#   installed), e.g. a shared venv: the bundle is built from this checkout's sources either way.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${SOFTPHONE_BUILD_PYTHON:-.venv/bin/python}
if [ -z "${SOFTPHONE_BUILD_PYTHON:-}" ]; then
  [ -x "$PY" ] || python3 -m venv .venv
  "$PY" -m pip install -q --disable-pip-version-check -e ".[package]" 2>&1 | grep -v "^WARNING: Location" || true
fi
version=$(PYTHONPATH=$PWD "$PY" -c "import softphone; print(softphone.__version__)")
out=${BUILD_DIR:-build}
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$out/dist" --workpath "$out/work" packaging/softphone.spec
elapsed=$(( $(date +%s) - start ))
bundle=$out/dist/softphone
cp packaging/linux/softphone.desktop resources/icons/softphone.svg "$bundle/"
archive=$out/dist/softphone-${version}-linux-$(uname -m).tar.gz
tar -C "$out/dist" -czf "$archive" softphone
echo "build: ${elapsed}s; bundle $(du -sh "$bundle" | cut -f1); archive $(du -h "$archive" | cut -f1) ($archive)"
echo "largest items:"
du -ah "$bundle/_internal" | sort -rh | sed -n '2,11p'
QT_QPA_PLATFORM=offscreen "$bundle/softphone" --version
