"""The headless visitor: the agent's twin for the demo, the self-test and the tests
(docs/architecture.md "Layers")."""
