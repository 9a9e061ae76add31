"""Forgekeep identity package."""
