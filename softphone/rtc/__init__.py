"""rtc layer (see DESIGN.md)."""
