"""SSH to servers penguinctl manages (fabric's transport, paramiko, used directly).

* :mod:`~penguinctl.remote.connection`: :class:`Target`, :class:`Remote` (key auth,
  pinned host key, retries, quoted and batched commands, atomic uploads on stdin),
  :class:`Pool` (one connection per host, reused across tasks);
* :mod:`~penguinctl.remote.hostkeys`: trust on first use, pins in the store;
* :mod:`~penguinctl.remote.shell`: quoting and batching, pure;
* :mod:`~penguinctl.remote.facts`: what a host has, read in one round trip.

Nothing here imports paramiko at module import time (``penguinctl --help`` stays fast).
"""
