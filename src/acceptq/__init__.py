"""acceptq: audit and remediate the TCP accept-queue failure chain."""

__version__ = "0.1.0"
