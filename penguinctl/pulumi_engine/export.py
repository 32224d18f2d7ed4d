"""``stack export``: one tenant as a standalone Pulumi project a team runs with its own CLI.

Written: ``Pulumi.yaml``; ``__main__.py`` (the same program ``engine: pulumi`` runs);
``requirements.txt`` (``penguinctl[pulumi]`` at this version); ``specs/`` (the spec files);
``penguinctl.yaml`` (the workspace's provider instances: credential *references* only);
``Pulumi.tenant-<name>.yaml`` (the stack config; credentials stay references such as
``env:CLOUDFLARE_API_TOKEN``, resolved when the program or a provider runs — never values).
No pulumi import: the export works without the Pulumi engine installed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError
from penguinctl.pulumi_engine.tokens import stack_name


def export_stack(
    ws: Any,
    tenant: str,
    sources: Sequence[str],
    directory: Path,
    pools: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Write the project; ``pools`` (the recorded sending-IP assignments) go into the
    stack config so the team's runs keep every domain on its IP."""
    from penguinctl import __version__, spec
    from penguinctl.pulumi_engine.orchestrate import program_dir

    if not sources:
        raise ConfigError("stack export needs the specs", hint="pass -f FILE or -f DIR")
    specs = spec.load(list(sources))
    if tenant not in specs.tenants:
        raise ConfigError(
            f"no tenant '{tenant}' in the specs",
            hint=f"tenants: {', '.join(sorted(specs.tenants)) or 'none'}",
        )
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise ConfigError(f"{directory} is not empty", hint="export into a new directory")
    written: list[str] = []

    def write(name: str, text: str) -> None:
        (directory / name).write_text(text, encoding="utf-8")
        written.append(name)

    program = program_dir()
    write("Pulumi.yaml", (program / "Pulumi.yaml").read_text(encoding="utf-8"))
    write("__main__.py", (program / "__main__.py").read_text(encoding="utf-8"))
    write("requirements.txt", f"penguinctl[pulumi]=={__version__}\n")
    spec_dir = directory / "specs"
    spec_dir.mkdir()
    for i, src in enumerate(sources):
        path = Path(src)
        if path.is_dir():
            shutil.copytree(path, spec_dir / f"{i:02d}-{path.name}", dirs_exist_ok=True)
        else:
            shutil.copy2(path, spec_dir / f"{i:02d}-{path.name}")
    written.append("specs/")
    write("penguinctl.yaml", _workspace_yaml(ws))
    refs = {
        f"{inst.name}.{name}": ref
        for inst in ws.providers.values()
        for name, ref in sorted(inst.credentials.items())
    }
    lines = [
        "# Stack config written by `penguinctl stack export`. Credentials are references",
        "# (env:/file:), resolved at run time; to keep one in Pulumi instead, run",
        "#   pulumi config set --secret penguinctl:credential.<instance>.<name> VALUE",
        "config:",
        f"  penguinctl:tenant: {json.dumps(tenant)}",
        "  penguinctl:specs: specs",
        f"  penguinctl:credentialRefs: {json.dumps(refs, sort_keys=True)}",
    ]
    own = specs.of("IpPool")
    mine = {
        name: dict(assignment)
        for name, assignment in (pools or {}).items()
        if name in own and own[name].spec.tenant == tenant
    }
    if mine:
        lines.append(f"  penguinctl:ipPools: {json.dumps(json.dumps(mine, sort_keys=True))}")
    write(f"Pulumi.{stack_name(tenant)}.yaml", "\n".join(lines) + "\n")
    return written


def _workspace_yaml(ws: Any) -> str:
    import yaml

    data = {
        "apiVersion": "penguinctl/v1",
        "kind": "Workspace",
        "name": ws.name,
        "sandbox": bool(ws.sandbox),
        "pulumiPassphrase": ws.pulumi_passphrase,
        "providers": {
            inst.name: {
                "type": inst.type,
                **({"credentials": dict(inst.credentials)} if inst.credentials else {}),
                **({"settings": dict(inst.settings)} if inst.settings else {}),
            }
            for inst in ws.providers.values()
        },
    }
    header = "# The provider instances of the exported tenant: references only, never secrets.\n"
    return header + yaml.safe_dump(data, sort_keys=False)
