"""Forgekeep ledger package."""
