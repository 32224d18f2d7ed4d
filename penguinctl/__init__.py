"""penguinctl: infrastructure as code for cold-email sending infrastructure."""

__version__ = "0.1.0"
