"""The signaled call and its recovery (see ``docs/architecture.md``)."""
