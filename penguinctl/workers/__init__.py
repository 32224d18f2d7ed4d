"""penguinctl.workers."""
