#!/usr/bin/env bash
# Compiles the project's AppImage type-2 runtime (appimage_runtime.c) into one static file.
# usage: packaging/linux/build_appimage_runtime.sh OUTPUT
# Needs gcc and Debian's libsquashfuse-dev, libfuse3-dev, libzstd-dev, liblz4-dev,
# liblzo2-dev, liblzma-dev and zlib1g-dev: every one ships a static library (.a), so the result
# needs nothing from the machine it runs on but a Linux kernel (and, to mount the image as a
# user rather than root, the system's setuid fusermount3).
set -euo pipefail
out=${1:?usage: build_appimage_runtime.sh OUTPUT}
src=$(dirname "$0")/appimage_runtime.c
# squashfuse reads every compression mksquashfs can write, so all its decompressors link in.
# libfuse3's module loader (never used: no "-o modules=") makes ld warn about dlopen; filtered.
gcc -std=gnu11 -O2 -Wall -Wextra -static -s -o "$out" "$src" \
  -lsquashfuse_ll -lsquashfuse -lfuse3 -lzstd -llz4 -llzo2 -llzma -lz -lpthread \
  2> >(grep -v -e "fuse_get_module" -e "Using 'dlopen' in statically linked" >&2)
# The AppImage type-2 magic, "AI" 0x02, in the ELF identification's padding (ignored by loaders).
printf 'AI\002' | dd of="$out" bs=1 seek=8 conv=notrunc status=none
