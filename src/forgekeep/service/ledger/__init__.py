"""The ledger domain of the service core."""
