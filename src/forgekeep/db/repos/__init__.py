"""Repositories: every query the service core runs lives in one of these modules.

Use cases call repositories and other domains' public functions, never each other's private
look-ups. A repository takes a session and the tenant it reads for; it decides nothing.
"""
