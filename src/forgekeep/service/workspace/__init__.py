"""The workspace domain of the service core."""
