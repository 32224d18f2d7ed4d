"""penguinctl.mail."""
