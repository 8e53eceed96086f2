"""devstack: a FastAPI project's local development stack on Docker Compose."""

__version__ = "0.1.0"
