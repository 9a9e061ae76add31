"""Forgekeep keys package."""
