"""The access domain of the service core."""
