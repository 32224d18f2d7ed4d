"""penguinctl.remote."""
