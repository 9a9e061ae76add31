"""Forgekeep storage package."""
