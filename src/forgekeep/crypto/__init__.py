"""Forgekeep crypto package."""
