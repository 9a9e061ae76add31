"""Forgekeep cli package."""
