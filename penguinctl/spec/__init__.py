"""penguinctl.spec."""
