"""Render MailU's files for one server from ``templates/mailu`` (strict: an undefined
variable is an error, never an empty string).

Templates ship in the wheel as ``penguinctl/data/templates``; in a checkout they are
``templates/`` at the repository root. :func:`render` returns every file to deploy,
with its path under MailU's root and its mode; the secrets (MailU's ``SECRET_KEY``
and the first admin's password) are files of their own, ``0600``, read by MailU
through ``*_FILE`` variables, so ``mailu.env`` holds no secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from penguinctl.core.errors import ConfigError

TEMPLATE_FILES: dict[str, int] = {
    "mailu.env": 0o600,
    "docker-compose.yml": 0o644,
    "overrides/postfix/postfix.cf": 0o644,
}
SECRET_FILES = ("secrets/secret_key", "secrets/admin_password")


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to MailU's root (/mailu)
    content: str = field(repr=False)
    mode: int
    secret: bool = False


@cache
def templates_dir() -> Path:
    """``penguinctl/data/templates`` when installed, else the checkout's ``templates/``."""
    from importlib import resources

    try:
        installed = resources.files("penguinctl.data") / "templates"
        if installed.is_dir():
            return Path(str(installed))
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise ConfigError("penguinctl's templates are missing", hint="reinstall penguinctl")


@cache
def _environment() -> Any:
    # One environment per process: it keeps the compiled templates (compiling them for
    # every server cost ~60 ms each, which a plan of many servers pays at plan time) and
    # still re-reads a template whose file changed (auto_reload).
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(str(templates_dir() / "mailu")),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(context: dict[str, Any], secrets: dict[str, str]) -> list[RenderedFile]:
    """The files of one server; ``secrets`` has ``secret_key`` and ``admin_password``."""
    from jinja2 import UndefinedError

    env = _environment()
    out = []
    for name, mode in TEMPLATE_FILES.items():
        try:
            text = env.get_template(name).render(**context)
        except UndefinedError as exc:
            raise ConfigError(
                f"template mailu/{name}: {exc}",
                hint="a template uses a value penguinctl does not provide; this is a bug",
            ) from None
        out.append(RenderedFile(name, text, mode))
    for path in SECRET_FILES:
        value = secrets[path.rsplit("/", 1)[1]]
        out.append(RenderedFile(path, value, 0o600, secret=True))
    return out
