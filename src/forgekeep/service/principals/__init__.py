"""The principals domain of the service core."""
