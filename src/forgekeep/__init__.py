"""Forgekeep: a sovereign vault for manufacturing IP."""

__version__ = "0.1.0"
