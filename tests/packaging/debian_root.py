"""A clean Debian root for package tests: debootstrap (minbase) from the machine's own apt
mirror, cached as a tarball per day, and commands run in it through chroot.

Every command runs in private mount and PID namespaces (``unshare``): /proc, a minimal /dev
and /dev/shm are mounted there and vanish with the command, whatever happens to the test,
so nothing is left mounted on the host. Commands that need no network get their own network
namespace with only loopback up.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SUITE = "bookworm"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
CACHE_DIR = Path(os.environ.get("SOFTPHONE_PKGTEST_CACHE", "/var/tmp/softphone-pkgtest"))
# $1 = root, $2 = "lo" for loopback-only networking, $3 = chroot --userspec ("" for root).
_ENTER = r"""
set -eu
root=$1; net=$2; user=$3; shift 3
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755,size=8m dev "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir -m 1777 "$root/dev/shm"; ln -s /proc/self/fd "$root/dev/fd"
if [ "$net" = lo ]; then ip link set lo up; fi
exec chroot ${user:+--userspec="$user"} "$root" "$@"
"""


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for SUITE (deb822 or one-line sources)."""
    for path in sorted((sources / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.+)$", stanza, re.MULTILINE))
            types, suites = fields.get("Types", "").split(), fields.get("Suites", "").split()
            if "deb" in types and SUITE in suites:
                return fields["URIs"].split()[0]
    for path in [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                match = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if match and match.group(2) == SUITE:
                    return match.group(1)
    return FALLBACK_MIRROR


def run_in_root(
    root: Path,
    argv: Sequence[str],
    *,
    user: str = "",
    network: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run argv inside the root (as ``user`` "uid:gid" if given); never raises on failure."""
    clean_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})}
    unshare = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork"]
    if not network:
        unshare.append("--net")
    command = [*unshare, "sh", "-c", _ENTER, "enter", str(root), "" if network else "lo", user]
    command += ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in clean_env.items()), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def base_tarball(cache_dir: Path = CACHE_DIR) -> Path:
    """Today's debootstrapped minbase root with apt lists, built once a day (locked)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / f"{SUITE}-minbase-{datetime.date.today():%Y%m%d}.tar"
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        for old in cache_dir.glob(f"{SUITE}-minbase-*.tar"):
            old.unlink()
        with tempfile.TemporaryDirectory(dir=cache_dir) as work:
            root = Path(work) / "root"
            bootstrap = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "debootstrap",
                 "--variant=minbase", SUITE, str(root), apt_mirror()],
                capture_output=True, text=True, timeout=1200, check=False,
            )  # fmt: skip
            if bootstrap.returncode != 0:
                raise RuntimeError(f"debootstrap failed:\n{bootstrap.stdout[-3000:]}")
            shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
            update = run_in_root(root, ["apt-get", "update", "-q"], timeout=600)
            if update.returncode != 0:
                raise RuntimeError(f"apt-get update failed:\n{update.stdout}{update.stderr}")
            partial = tarball.with_suffix(".partial")
            _tar(["-C", str(root), "-cf", str(partial), "."])
            partial.rename(tarball)
    return tarball


@contextmanager
def debian_root(parent: Path) -> Iterator[Path]:
    """A fresh root unpacked from today's cached base; removed afterwards."""
    root = parent / "debian-root"
    root.mkdir()
    try:
        _tar(["-C", str(root), "-xf", str(base_tarball())])
        shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
        yield root
    finally:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        leftover = [line for line in mounts if f" {root}" in line]
        # Never delete through a leftover mount (it could reach the host's /dev).
        assert not leftover, f"mounts left under the test root: {leftover}"
        shutil.rmtree(root)


def _tar(args: list[str]) -> None:
    """GNU tar keeps owners, modes and device nodes of a root file system as they are."""
    subprocess.run(["tar", "--numeric-owner", *args], check=True, timeout=600)
