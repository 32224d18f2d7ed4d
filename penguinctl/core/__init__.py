"""penguinctl.core."""
