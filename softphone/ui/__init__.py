"""The Qt layer: renders the core's state, sends the agent's intents (docs/architecture.md)."""
