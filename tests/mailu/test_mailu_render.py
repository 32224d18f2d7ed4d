"""Rendering MailU's files: strict templates, validated settings, one selector per server."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from penguinctl import spec
from penguinctl.core.errors import ConfigError
from penguinctl.mailu.render import render
from penguinctl.mailu.settings import server_config

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"secret_key": "s" * 32, "admin_password": "a" * 32}


@pytest.fixture(scope="module")
def specs():  # type: ignore[no-untyped-def]
    return spec.load([str(REPO / "examples")])


def context(specs, server="acme-mx1", **settings):  # type: ignore[no-untyped-def]
    domains = [d.spec for d in specs.mail_domains.values() if d.spec.server == server]
    return server_config(
        server, specs.servers[server].spec, domains, settings, bind_ip="198.51.100.4"
    )


def test_rendered_files(specs) -> None:  # type: ignore[no-untyped-def]
    files = {f.path: f for f in render(context(specs), SECRETS)}
    env = dict(
        line.split("=", 1)
        for line in files["mailu.env"].content.splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert (
        env["HOSTNAMES"] == "mail.acme-outbound.example"
        and env["DOMAIN"] == "acme-outbound.example"
    )
    assert env["INITIAL_ADMIN_MODE"] == "ifmissing" and env["RECIPIENT_DELIMITER"] == "+"
    assert env["DKIM_SELECTOR"] == "mail" and env["DKIM_PATH"] == "/dkim/{domain}.{selector}.key"
    assert env["MESSAGE_RATELIMIT"] == "5000/day" and "AUTH_RATELIMIT_EXEMPTION" in env
    assert env["SECRET_KEY_FILE"] == "/secrets/secret_key" and "SECRET_KEY" not in env
    assert SECRETS["secret_key"] not in files["mailu.env"].content
    compose = yaml.safe_load(files["docker-compose.yml"].content)
    assert compose["services"]["admin"]["image"] == "ghcr.io/mailu/admin:2024.06.57"
    assert "198.51.100.4:587:587" in compose["services"]["front"]["ports"]
    assert "/mailu/dkim:/dkim" in compose["services"]["admin"]["volumes"]
    postfix = files["overrides/postfix/postfix.cf"].content
    assert (
        "maximal_queue_lifetime = 5d" in postfix and "smtp_destination_rate_delay = 1s" in postfix
    )
    assert files["secrets/secret_key"].mode == 0o600 and files["secrets/secret_key"].secret


def test_undefined_variable_is_an_error(specs) -> None:  # type: ignore[no-untyped-def]
    ctx = copy.deepcopy(context(specs))
    del ctx["postfix"]["queue_lifetime"]
    with pytest.raises(ConfigError, match=r"template mailu/overrides/postfix/postfix\.cf"):
        render(ctx, SECRETS)


def test_settings_are_validated(specs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        context(specs, tls_flavor="sometimes", queue_lifetime="forever", message_ratelimit="lots")
    text = err.value.message
    assert "tls_flavor" in text and "queue_lifetime" in text and "message_ratelimit" in text


def test_one_dkim_selector_per_server(specs) -> None:  # type: ignore[no-untyped-def]
    server = specs.servers["acme-mx1"].spec
    domains = [d.spec for d in specs.mail_domains.values() if d.spec.server == "acme-mx1"]
    other = domains[1].model_copy(
        update={"dkim": domains[1].dkim.model_copy(update={"selector": "s2"})}
    )
    with pytest.raises(ConfigError, match="different DKIM selectors"):
        server_config("acme-mx1", server, [domains[0], other], {}, bind_ip=None)
    with pytest.raises(ConfigError, match="serves no mail domain"):
        server_config("acme-mx1", server, [], {}, bind_ip=None)
