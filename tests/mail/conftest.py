"""tests/mail fixtures: the CLI runner of tests/cli."""

from tests.cli.conftest import cli  # noqa: F401
