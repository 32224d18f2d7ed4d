"""penguinctl.store."""
