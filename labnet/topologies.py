"""The networks agents and visitors really have: NAT routers, an office firewall, lossy links.

:class:`NatTopology` puts a router namespace between each endpoint and the hub::

    agent ns                 agent router (NAT)                 hub
    eth0 198.19.1.2/24 ---- lan0 198.19.1.1 | eth0 198.18.1.2 ---- agent0 198.18.1.1
                                                                   lo 198.18.0.1 (TURN)
    visitor ns               visitor router (NAT)
    eth0 198.19.2.2/24 ---- lan0 198.19.2.1 | eth0 198.18.2.2 ---- visitor0 198.18.2.1

Each router masquerades with ``--random-fully`` (every new flow gets a random outside port,
like carrier-grade or symmetric home NAT), so host candidates are unroutable and
server-reflexive ones never match a mapping: the only path that works is a TURN relay
(coturn in the hub, labnet/turn.py). ``office_firewall=True`` additionally lets the agent's
router forward only TCP to port 443 (TURN over TLS) and to the signaling server's port, which
stands in for the company's wss://…:443 (replies to allowed flows pass).

:func:`add_loss` drops a random share of UDP on a link with nftables ``numgen random``
(netem does not work on these machines); :func:`direct_udp_blocked` lets UDP out only to the
TURN server (a relay-only network that opens up later); :func:`new_connections_dropped` makes
an address behave like a dead host.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

from labnet.netns import COMMAND_TIMEOUT_S, OWNERS, PREFIX, SERVER_PORT, Side, Topology, run
from labnet.turn import TLS_PORT


class NatTopology(Topology):
    """Hub, two NAT routers, agent and visitor; use as a context manager."""

    def __init__(self, *, office_firewall: bool = False) -> None:
        super().__init__()
        tag = self.hub[len(PREFIX) : -1]
        self.office_firewall = office_firewall
        # The routers take the hub links; Topology.create() builds those for self.agent/visitor.
        self.agent_outside = Side(f"{PREFIX}{tag}r", "agent0", "eth0", "198.18.1.2", "198.18.1.1")
        self.visitor_outside = Side(
            f"{PREFIX}{tag}s", "visitor0", "eth0", "198.18.2.2", "198.18.2.1"
        )
        self._inside = (
            Side(self.agent.ns, "lan0", "eth0", "198.19.1.2", "198.19.1.1", server="198.18.1.1"),
            Side(self.visitor.ns, "lan0", "eth0", "198.19.2.2", "198.19.2.1", server="198.18.2.1"),
        )
        self.agent, self.visitor = self.agent_outside, self.visitor_outside

    def create(self) -> None:
        super().create()  # hub + routers + the routers' links to the hub
        # Like the Internet, the hub forwards unknown destinations (the endpoints' private
        # addresses) somewhere they get lost, rather than failing the send: coturn closes an
        # allocation whose relay socket gets "network unreachable".
        # (A veth whose peer stays down drops silently; no dummy module here.)
        self.ns_run(self.hub, "ip", "link", "add", "void0", "type", "veth", "peer", "name", "void1")
        self.ns_run(self.hub, "ip", "link", "set", "void0", "up")
        self.ns_run(self.hub, "ip", "route", "add", "default", "dev", "void0")
        self.agent, self.visitor = self._inside
        for router, side in (
            (self.agent_outside, self.agent),
            (self.visitor_outside, self.visitor),
        ):
            (OWNERS / side.ns).write_text(str(os.getpid()))
            run("ip", "netns", "add", side.ns)
            self._created.append(side.ns)
            self.ns_run(side.ns, "ip", "link", "set", "lo", "up")
            run(
                "ip", "link", "add", side.hub_dev, "netns", router.ns, "type", "veth",
                "peer", "name", side.dev, "netns", side.ns,
            )  # fmt: skip
            self.ns_run(side.ns, "sysctl", "-qw", f"net.ipv4.conf.{side.dev}.promote_secondaries=1")
            self.ns_run(
                router.ns, "ip", "addr", "add", f"{side.gateway}/{side.prefix}", "dev", side.hub_dev
            )
            self.ns_run(
                side.ns, "ip", "addr", "add", f"{side.address}/{side.prefix}", "dev", side.dev
            )
            self.ns_run(router.ns, "ip", "link", "set", side.hub_dev, "up")
            self.ns_run(side.ns, "ip", "link", "set", side.dev, "up")
            self.ns_run(side.ns, "ip", "route", "add", "default", "via", side.gateway)
            self.ns_run(router.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self.ns_run(
                router.ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", router.dev,
                "-j", "MASQUERADE", "--random-fully",
            )  # fmt: skip
        if self.office_firewall:
            self._close_office(self.agent_outside.ns, inside=self.agent.hub_dev)

    def _close_office(self, router: str, inside: str) -> None:
        rules = [
            ("-P", "FORWARD", "DROP"),
            (
                "-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
                "-j", "ACCEPT",
            ),
            (
                "-A", "FORWARD", "-i", inside, "-p", "tcp", "-m", "multiport",
                "--dports", f"{TLS_PORT},{SERVER_PORT}", "-j", "ACCEPT",
            ),
        ]  # fmt: skip
        for rule in rules:
            self.ns_run(router, "iptables", *rule)

    def _upstream_ns(self, side: Side) -> str:
        """The namespace holding the far end of ``side``'s link (where a cut is made)."""
        routers = {self.agent.ns: self.agent_outside.ns, self.visitor.ns: self.visitor_outside.ns}
        return routers.get(side.ns, self.hub)

    def cut(self, side: Side) -> float:
        """Inside side: the endpoint's own cable; outside side: the router's uplink."""
        if self._upstream_ns(side) == self.hub:
            return super().cut(side)
        return self._set_link(side, "down")

    def restore(self, side: Side) -> float:
        if self._upstream_ns(side) == self.hub:
            return super().restore(side)
        return self._set_link(side, "up")

    def _set_link(self, side: Side, state: str) -> float:
        self.ns_run(self._upstream_ns(side), "ip", "link", "set", side.hub_dev, state)
        return time.time()

    def switch_address(self, side: Side, new_address: str) -> tuple[Side, float]:
        """Also the NAT's outside address (an ISP re-addressing the office router)."""
        switched, when = super().switch_address(side, new_address)
        if side == self.agent_outside:
            self.agent_outside = switched
        elif side == self.visitor_outside:
            self.visitor_outside = switched
        return switched, when


def add_loss(topo: Topology, ns: str, device: str, percent: int, direction: str = "both") -> str:
    """Drop ``percent`` % of the UDP that ``ns`` forwards from/to ``device``.

    ``direction``: "in" (arriving on ``device``), "out" (leaving by it) or "both". Signaling
    (TCP) is untouched. Returns the nftables table name (:func:`remove_loss` deletes it).
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"loss must be 0..100 %, not {percent}")
    matches = {"in": ["iifname"], "out": ["oifname"], "both": ["iifname", "oifname"]}[direction]
    table = "softphone_loss"
    chance = "" if percent == 100 else f" numgen random mod 100 < {percent}"
    rules = "\n".join(
        f'        {match} "{device}" meta l4proto udp{chance} drop' for match in matches
    )
    script = f"""
table inet {table} {{
    chain forward {{
        type filter hook forward priority -10; policy accept;
{rules}
    }}
}}
"""
    _nft(ns, script)
    return table


def remove_loss(topo: Topology, ns: str, table: str) -> None:
    topo.ns_run(ns, "nft", "delete", "table", "inet", table)


@contextlib.contextmanager
def direct_udp_blocked(topo: Topology, *namespaces: str, allowed_port: int) -> Iterator[float]:
    """A firewall in each of ``namespaces`` that lets UDP out only to ``allowed_port`` (the
    TURN server's): host and server-reflexive pairs fail, only relays work, until the block
    lifts at the end of the ``with`` (yields when it started). TCP (signaling) is untouched."""
    table = "softphone_direct_block"
    script = f"""
table inet {table} {{
    chain output {{
        type filter hook output priority -10; policy accept;
        meta l4proto udp udp dport != {allowed_port} drop
    }}
}}
"""
    blocked: list[str] = []
    try:
        for ns in namespaces:
            _nft(ns, script)
            blocked.append(ns)
        yield time.time()
    finally:
        for ns in blocked:
            topo.ns_run(ns, "nft", "delete", "table", "inet", table)


def new_connections_dropped(ns: str, address: str) -> None:
    """``address`` in ``ns`` stops answering new connections: their first packets vanish (no
    refusal, no ICMP), as to a host that died, while open connections stay as they are."""
    _nft(
        ns,
        f"""
table inet softphone_host_down {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {address} ct state new drop
    }}
}}
""",
    )


def _nft(ns: str, script: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"],
        input=script, check=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
    )  # fmt: skip
