"""tests/mailu fixtures: the CLI runner of tests/cli (a real subprocess per command)."""

from tests.cli.conftest import cli  # noqa: F401
