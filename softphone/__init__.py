"""Softphone: a desktop softphone for contact-center agents whose calls survive the network."""

__version__ = "0.1.0"
