"""signaling layer (see DESIGN.md)."""
