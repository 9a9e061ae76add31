"""Forgekeep db package."""
