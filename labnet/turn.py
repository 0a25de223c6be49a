"""A real TURN server for tests and benchmarks: Debian's coturn in the hub namespace.

:class:`Coturn` starts ``turnserver`` without a config file on one address of the hub
(``TURN_ADDRESS``, on the hub's loopback device so no link cut takes it away) and listens on

- UDP and TCP 3478 (``turn:…?transport=udp|tcp``; STUN binding too, for srflx candidates),
- TLS 443 (``turns:…:443?transport=tcp``), with a certificate from a throw-away test CA made
  at start (:func:`make_test_ca`); clients trust it through ``SSL_CERT_FILE`` (:meth:`Coturn.env`).

Authentication is coturn's ``use-auth-secret`` (the TURN REST API scheme): whoever knows the
shared secret mints time-limited credentials (:func:`mint_credentials`), exactly what a
signaling server does for each call. :meth:`Coturn.sessions` asks coturn's own CLI how many
sessions (allocations) it holds, so tests can prove that restarts release them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labnet.netns import JsonLines, Topology, run, stop_process

TURN_ADDRESS = "198.18.0.1"
"""The TURN server's one address, on the hub's loopback device (reached through the links)."""
PLAIN_PORT = 3478
TLS_PORT = 443
CLI_PORT = 5766
RELAY_PORTS = (49152, 49999)
REALM = "softphone.test"


def mint_credentials(
    secret: str, party: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """TURN REST API credentials: ``("<expiry>:<party>", base64(HMAC-SHA1(secret, username)))``."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    username = f"{expiry}:{party}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _ca_key_usage() -> Any:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True, key_cert_sign=True, crl_sign=True,
        content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def make_test_ca(directory: Path, address: str) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for ``address`` signed by it.

    Returns (ca.pem, server.pem, server.key). Valid one day; never leaves the temp dir.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Softphone test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@dataclass(frozen=True)
class TurnUrls:
    """Which of the server's transports a party is told about (all by default)."""

    udp: bool = True
    tcp: bool = True
    tls: bool = True

    def urls(self, host: str) -> list[str]:
        chosen = []
        if self.udp:
            chosen.append(f"turn:{host}:{PLAIN_PORT}?transport=udp")
        if self.tcp:
            chosen.append(f"turn:{host}:{PLAIN_PORT}?transport=tcp")
        if self.tls:
            chosen.append(f"turns:{host}:{TLS_PORT}?transport=tcp")
        return chosen


class Coturn:
    """coturn in ``topo.hub``; stopped with the topology (it is one of its processes)."""

    def __init__(self, topo: Topology, secret: str | None = None) -> None:
        self.topo = topo
        self.secret = secret or secrets.token_urlsafe(24)
        self.address = TURN_ADDRESS
        self._cli_password = secrets.token_hex(8)
        self.process: JsonLines | None = None
        self.ca_path: Path | None = None
        self._files = tempfile.TemporaryDirectory(prefix="softphone-turn-")

    def start(self, timeout: float = 10.0) -> Coturn:
        topo = self.topo
        topo.ns_run(topo.hub, "ip", "addr", "add", f"{self.address}/32", "dev", "lo")
        directory = Path(self._files.name)
        self.ca_path, cert, key = make_test_ca(directory, self.address)
        self.process = topo.spawn(
            topo.hub,
            "coturn",
            [
                "turnserver", "-n", "--log-file=stdout", "--simple-log", "--verbose",
                f"--listening-ip={self.address}", f"--relay-ip={self.address}",
                f"--listening-port={PLAIN_PORT}", f"--tls-listening-port={TLS_PORT}",
                f"--min-port={RELAY_PORTS[0]}", f"--max-port={RELAY_PORTS[1]}",
                "--use-auth-secret", f"--static-auth-secret={self.secret}", f"--realm={REALM}",
                f"--cert={cert}", f"--pkey={key}", "--no-dtls",
                "--cli-ip=127.0.0.1", f"--cli-port={CLI_PORT}",
                f"--cli-password={self._cli_password}",
                "--no-multicast-peers",
                f"--pidfile={directory / 'turnserver.pid'}", f"--db={directory / 'turndb'}",
            ],
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while self.sessions() is None:  # the CLI answers once every listener is up
            if time.monotonic() > deadline or self.process.proc.poll() is not None:
                raise RuntimeError(f"coturn did not start: {self.process.describe()}")
            time.sleep(0.1)
        return self

    def close(self) -> None:
        """The certificates go; the process goes with the topology (or here, if still up)."""
        if self.process is not None:
            stop_process(self.process.proc)
        self._files.cleanup()

    def runner_args(self, party: str, transports: TurnUrls = TurnUrls()) -> list[str]:
        """labnet/call_runner.py arguments: fresh credentials, and trust in the test CA."""
        assert self.ca_path is not None, "start() first"
        servers = json.dumps(self.ice_servers(party, transports))
        return ["--ice-servers", servers, "--trust", str(self.ca_path)]

    def ice_servers(
        self, party: str, transports: TurnUrls = TurnUrls(), ttl_s: int = 3600
    ) -> list[dict[str, Any]]:
        """``RTCIceServer``-shaped dicts with fresh REST credentials (and STUN)."""
        username, credential = mint_credentials(self.secret, party, ttl_s)
        return [
            {"urls": [f"stun:{self.address}:{PLAIN_PORT}"]},
            {"urls": transports.urls(self.address), "username": username, "credential": credential},
        ]

    def sessions(self) -> int | None:
        """coturn's own count of TURN sessions (``ps`` on its CLI), or None if no answer."""
        listing = self._cli("ps")
        match = re.search(r"Total sessions:\s*(\d+)", listing)
        return int(match.group(1)) if match else None

    def allocations(self) -> int | None:
        """Sessions that hold a relay address (STUN-only sessions excluded), from the CLI."""
        listing = self._cli("ps")
        if "Total sessions" not in listing:
            return None
        return len(re.findall(r"^\s*relay addr ", listing, re.MULTILINE))

    def _cli(self, command: str) -> str:
        output = run(
            "ip", "netns", "exec", self.topo.hub, sys.executable, "-c", _CLI_SCRIPT,
            str(CLI_PORT), self._cli_password, command, check=False,
        )  # fmt: skip
        return output.stdout


# Talks to coturn's telnet-style CLI: password, one command, then "quit"; prints the output.
_CLI_SCRIPT = r"""
import socket, sys, time
port, password, command = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = b""
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.settimeout(1.0)
        def read_until(marker, limit=3.0):
            global out
            end = time.monotonic() + limit
            while marker not in out and time.monotonic() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                out += chunk
        read_until(b"assword")
        s.sendall(password.encode() + b"\r\n")
        read_until(b">")
        s.sendall(command.encode() + b"\r\n")
        read_until(b"Total sessions")
        read_until(b"\n", 0.3)
        s.sendall(b"quit\r\n")
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
"""
