"""visitor layer (see DESIGN.md)."""
