"""Forgekeep service package."""
