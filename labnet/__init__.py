"""The lab: real network faults and headless call sides, shared by tests/ and bench/.

Not shipped in the wheel (only ``softphone`` is). ``netns`` builds namespaces, veth links
and faults (link down, address change, blackhole); ``call_runner`` runs one side of a real
Softphone call inside a namespace and reports JSON lines; ``aiortc_peer`` is the plain
aiortc baseline; ``topologies`` adds NAT routers, an office firewall and nftables loss;
``turn`` runs a real coturn in the hub. Both tests/ and bench/ import this package;
neither imports the other.
"""
