"""Personalization: sandboxed strict templates, defaults, deterministic spintax and variants."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from penguinctl.campaigns import ops
from penguinctl.campaigns.contacts import import_file
from penguinctl.campaigns.render import RenderError, pick_variant, render, spin
from penguinctl.campaigns.spec import CampaignSpec
from penguinctl.core.errors import ValidationFailed
from penguinctl.mail.message import HeaderInjection, Outgoing, compose
from penguinctl.store import Store

from .conftest import seed_mailbox


def test_spintax_is_deterministic_per_seed_and_leaves_jinja_alone():
    source = "{Hi|Hello|Hey} {{ name }}, {a|b{x|y}} {% if 1 %}ok{% endif %}"
    first = spin(source, "c/1/0")
    assert first == spin(source, "c/1/0")
    assert "{{ name }}" in first and "{% if 1 %}ok{% endif %}" in first
    greetings = Counter(spin("{Hi|Hello|Hey}", f"c/{i}/0") for i in range(600))
    assert set(greetings) == {"Hi", "Hello", "Hey"} and min(greetings.values()) > 150
    assert all(spin("{a|b{x|y}}", f"s{i}") in ("a", "bx", "by") for i in range(50))


def test_variants_are_fixed_per_contact_and_follow_weights():
    weights = [("a", 3.0), ("b", 1.0)]
    picks = [pick_variant(weights, "camp", i, 0) for i in range(4000)]
    assert picks == [pick_variant(weights, "camp", i, 0) for i in range(4000)]
    share = picks.count("a") / len(picks)
    assert 0.72 < share < 0.78


def test_strict_undefined_defaults_and_sandbox():
    assert render("Hi {{ first_name | default('there') }}", {}, seed="s") == "Hi there"
    with pytest.raises(RenderError, match="'first_name' is undefined"):
        render("Hi {{ first_name }}", {}, seed="s")
    with pytest.raises(RenderError, match=r"unsafe|not safely|access"):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, seed="s")
    assert render("<p>{{ x }}</p>", {"x": "<b>"}, seed="s", html=True) == "<p>&lt;b&gt;</p>"


def test_header_injection_is_refused():
    from datetime import UTC, datetime

    base = dict(
        sender="a@x.example",
        sender_name="Ann",
        recipient="b@y.example",
        subject="Hello",
        text="t",
        html=None,
        message_id="1@x.example",
        date=datetime.now(UTC),
        unsubscribe_url="https://u.example/u/t",
        unsubscribe_mailto="mailto:u@x.example",
    )
    compose(Outgoing(**base))  # type: ignore[arg-type]
    for field, value in [
        ("subject", "Hello\r\nBcc: victim@example.com"),
        ("sender_name", "Ann\nBcc: x@y"),
        ("recipient", "b@y.example\r\nX: y"),
        ("unsubscribe_url", "https://u.example/\r\nX: y"),
    ]:
        with pytest.raises(HeaderInjection):
            compose(Outgoing(**{**base, field: value}))  # type: ignore[arg-type]


def test_a_template_syntax_error_is_a_spec_error_with_its_position(tmp_path: Path):
    from .conftest import campaign_yaml

    path = tmp_path / "c.yaml"
    path.write_text(campaign_yaml().replace("Do you send cold email?", "{% if %}"))
    with pytest.raises(ValidationFailed) as info:
        ops.load_spec([str(path)], "intro")
    (issue,) = info.value.issues
    assert issue.path == "spec.steps[0].text" and issue.line == 16
    assert "template syntax error" in issue.message


def test_plan_lists_every_rendering_error_before_sending(store: Store, tmp_path: Path):
    from .conftest import campaign_yaml

    seed_mailbox(store, "sales@acme-outbound.example", "127.0.0.1", 2525)
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "email,first_name,company\nok@example.com,Ok,Co\nnone@example.com,,Co\n"
        "nobody@example.com,,\n"
    )
    import_file(store, leads, tenant="acme", list_name="leads")
    spec = tmp_path / "c.yaml"
    spec.write_text(campaign_yaml().replace("defaults: {first_name: there}", "defaults: {}"))
    campaign = ops.record(store, [str(spec)], "intro", sandbox=True)
    result = ops.plan(store, campaign, contact="ok@example.com")
    # Two contacts lack first_name: every step of each is reported (3 templates use it).
    assert sorted(result.errors) == [
        "nobody@example.com: step 1: 'first_name' is undefined",
        "nobody@example.com: step 2: 'first_name' is undefined",
        "none@example.com: step 1: 'first_name' is undefined",
        "none@example.com: step 2: 'first_name' is undefined",
    ]
    with pytest.raises(ValidationFailed):
        ops.raise_render_errors(result)
    preview = result.preview
    assert preview is not None and [s["step"] for s in preview["steps"]] == [1, 2]
    assert preview["steps"][0]["subject"].endswith("Ok, a question about Co")
    assert preview["steps"][1]["subject"] == "Re: " + preview["steps"][0]["subject"]


def test_first_step_needs_a_subject():
    with pytest.raises(ValueError, match="the first step needs a subject"):
        CampaignSpec.model_validate(
            {
                "tenant": "acme",
                "senders": ["a@x.example"],
                "postalAddress": "1 Main St, Town",
                "unsubscribe": {"baseUrl": "https://u.example"},
                "steps": [{"text": "hi"}],
            }
        )
