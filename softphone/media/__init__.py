"""media layer: capture sources and frames (docs/architecture.md "Layers")."""
