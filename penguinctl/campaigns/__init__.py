"""penguinctl.campaigns."""
