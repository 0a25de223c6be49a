"""Thin presenters over the session bridge, one concern each (FeelUOwn's GUI managers):
ringing, call media, diagnostics, reconnect. ``softphone.ui.controller`` composes them."""
