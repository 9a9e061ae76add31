"""Forgekeep testing package."""
