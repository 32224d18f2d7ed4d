"""penguinctl.cli."""
