"""penguinctl's Pulumi program: one tenant per stack, over penguinctl's own providers.

Run by the Pulumi CLI (``runtime: python``) or by ``penguinctl --engine pulumi``; the
logic lives in :mod:`penguinctl.pulumi_engine.program` so the built-in engine and this
program share one expansion and one set of providers.
"""

from penguinctl.pulumi_engine.entry import main

main()
