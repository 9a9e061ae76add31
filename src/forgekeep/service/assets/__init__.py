"""The assets domain of the service core."""
