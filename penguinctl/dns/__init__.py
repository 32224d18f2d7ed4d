"""penguinctl.dns."""
