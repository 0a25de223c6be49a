"""Computes the .deb's `Depends` from the bundle itself: the libraries its ELF files need
that the bundle does not carry, mapped to the Debian packages that ship them.

PyInstaller copies most libraries into the bundle but leaves out the ones that must match
the system (glibc, libGL/libEGL and the GPU driver stack, libxcb, Wayland's client libraries).
Those become dependencies; their minimum versions come from dpkg-shlibdeps (Debian's own
symbol tables). A library that nobody on this machine ships stops the build: it would be a
missing dependency on the agent's machine.
usage: python deb_depends.py PACKAGE_ROOT BUNDLE_DIR_INSIDE_ROOT
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# What the bundle uses at run time that no ELF link shows: data files the bundled
# libraries read, and system libraries loaded with ctypes.
RUNTIME_DATA = {
    "fontconfig-config": "/etc/fonts for the bundled libfontconfig, and a font through it",
    "xkb-data": "keyboard layouts for the bundled libxkbcommon",
    "libasound2-data": "alsa.conf for PyAV's bundled libasound (softphone.media.alsa)",
    "libopus0": "Opus FEC/PLC decoding through ctypes (softphone.media.libopus)",
}
NEEDED = re.compile(r"^\s*NEEDED\s+(\S+)", re.MULTILINE)


def elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def external_needs(bundle: Path, elfs: list[Path]) -> dict[str, list[Path]]:
    """soname -> the bundled files that need it, for sonames the bundle does not carry."""
    carried = {p.name for p in bundle.rglob("*")}
    needs: dict[str, list[Path]] = {}
    for elf in elfs:
        dump = subprocess.run(
            ["objdump", "-p", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        for soname in NEEDED.findall(dump):
            if soname not in carried:
                needs.setdefault(soname, []).append(elf)
    return needs


def system_paths() -> dict[str, str]:
    """soname -> path of this machine's native library (from the linker cache)."""
    machine = platform.machine()
    tag = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(machine, machine)
    paths: dict[str, str] = {}
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines()[1:]:
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if match and (tag in match.group(2) or "," not in match.group(2)):
            paths.setdefault(match.group(1), match.group(3))
    return paths


def owning_package(path: str) -> str | None:
    """The installed package that ships `path` (tries the merged-/usr spellings too)."""
    real = str(Path(path).resolve())
    candidates = {path, real}
    for name in list(candidates):
        candidates.add(name.removeprefix("/usr") if name.startswith("/usr/") else "/usr" + name)
    for candidate in sorted(candidates):
        found = subprocess.run(
            ["dpkg", "-S", candidate], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            return found.stdout.split(":", 1)[0].strip()
    return None


def versioned(packages: set[str], elfs: list[Path], root: Path) -> list[str]:
    """dpkg-shlibdeps' versioned entries for exactly `packages` (unversioned if it has none)."""
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "debian").mkdir()
        (Path(work) / "debian" / "control").write_text(
            "Source: softphone\n\nPackage: softphone\nArchitecture: any\n"
        )
        result = subprocess.run(
            ["dpkg-shlibdeps", "-O", "--ignore-missing-info", f"-S{root}", *map(str, elfs)],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise SystemExit(f"deb_depends: dpkg-shlibdeps failed:\n{result.stderr[-3000:]}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("shlibs:Depends="))
    entries = [e.strip() for e in line.split("=", 1)[1].split(",") if e.strip()]
    kept = [e for e in entries if e.split()[0] in packages]
    named = {e.split()[0] for e in kept}
    return kept + sorted(packages - named)


def depends(root: Path, bundle: Path) -> str:
    elfs = elf_files(bundle)
    needs = external_needs(bundle, elfs)
    paths = system_paths()
    packages: set[str] = set()
    missing = []
    for soname, users in sorted(needs.items()):
        package = owning_package(paths[soname]) if soname in paths else None
        if package is None:
            missing.append(f"{soname} (needed by {users[0].relative_to(root)})")
        else:
            packages.add(package)
    if missing:
        raise SystemExit("deb_depends: no installed package ships " + "; ".join(missing))
    users = sorted({elf for files in needs.values() for elf in files})
    return ", ".join(versioned(packages, users, root) + sorted(RUNTIME_DATA))


if __name__ == "__main__":
    package_root = Path(sys.argv[1]).resolve()
    print(depends(package_root, package_root / sys.argv[2]))
