"""Forgekeep residency package."""
