"""signaling layer: protocol, client, server (docs/architecture.md "Layers")."""
