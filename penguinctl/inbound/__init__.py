"""penguinctl.inbound."""
