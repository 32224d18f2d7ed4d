"""The Pulumi engine (``engine: pulumi``): one Pulumi stack per tenant over penguinctl's providers.

Nothing here is imported on the ``--help`` path or by the built-in engine; the modules
that need :mod:`pulumi` import it themselves, and only when a command asks for this
engine. Module map:

* :mod:`.tokens` (pure): type tokens, resource names, the Cloudflare record arguments;
* :mod:`.runtime` (pure): the provider context a dynamic provider builds at call time;
* :mod:`.dynamic`: ``pulumi.dynamic`` resources whose providers wrap the registry's providers;
* :mod:`.program`: the program that declares one tenant's resources;
* :mod:`.runner`: the :class:`~.runner.StackRunner` interface and the Automation API runner;
* :mod:`.orchestrate`: plan/apply/destroy/refresh through a runner, outputs into the store;
* :mod:`.migrate`, :mod:`.export`: ownership moves and standalone projects.
"""
