"""Maintenance commands for the course repository (``python -m autograder.tools.<name>``)."""
