"""``kind: Campaign``: senders, audience, steps with A/B variants, pacing, stop conditions.

Registered with :func:`penguinctl.spec.kinds.register_kind`; the loader and the JSON
schema pick it up. Templates are compiled here (syntax errors are spec errors with
``file:line``); rendering errors that depend on contacts are found by
``campaign plan`` before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator, model_validator

from penguinctl.core.errors import Issue
from penguinctl.spec.document import SpecSet
from penguinctl.spec.fields import Email
from penguinctl.spec.kinds import register_kind
from penguinctl.spec.models import FieldProblems, Loc, SpecModel

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Stop = Literal["reply", "bounce", "unsubscribe", "complaint"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STOPS: tuple[Stop, ...] = ("reply", "bounce", "unsubscribe", "complaint")


def seconds(value: str | int | float) -> float:
    """``"3d"`` / ``"12h"`` / ``"30m"`` / ``"45s"`` / a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    found = _DURATION.match(value.strip())
    if not found:
        raise ValueError(f"not a duration: {value!r} (use 45s, 30m, 12h or 3d)")
    return float(found.group(1)) * _UNITS[found.group(2)]


Duration = str | int | float


class Variant(SpecModel):
    """One A/B variant of a step; unset parts fall back to the step's."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,50}$")
    weight: float = Field(default=1.0, gt=0)
    subject: str | None = None
    text: str | None = None
    html: str | None = None


class Step(SpecModel):
    """A message of the sequence, sent ``delay`` after the previous one."""

    delay: Duration = 0
    subject: str | None = Field(default=None, description="empty on a follow-up: 'Re: ' + first")
    text: str | None = None
    html: str | None = None
    when: Literal["always", "noReply", "replied"] = "noReply"
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: Duration) -> Duration:
        if seconds(value) < 0:
            raise ValueError("a delay cannot be negative")
        return value


class Window(SpecModel):
    start: str = "00:00"
    end: str = "24:00"

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        if value != "24:00" and not _TIME.match(value):
            raise ValueError(f"not a time of day: {value!r} (HH:MM)")
        return value


class Pacing(SpecModel):
    """When and how fast: days and window in the recipient's time zone, caps and gaps."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    window: Window = Field(default_factory=Window)
    daily_cap: int = Field(default=50, ge=1, description="per mailbox, per day")
    min_gap: Duration = Field(default="60s", description="between two sends of one mailbox")
    jitter: Duration = Field(default=0, description="added to min_gap, 0..jitter, per send")
    server_rate: float = Field(default=60, gt=0, description="messages per minute per server")


class Audience(SpecModel):
    list: str | None = None
    where: dict[str, str] = Field(default_factory=dict, description="custom field equals value")


class Unsubscribe(SpecModel):
    base_url: str = Field(description="where `penguinctl unsubscribe serve` is reachable")
    mailto: Email | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("an http(s) URL")
        return value.rstrip("/")


class CampaignSpec(SpecModel):
    tenant: str
    senders: list[Email] = Field(min_length=1, description="mailu_mailbox addresses")
    from_name: str | None = None
    postal_address: str = Field(min_length=5, description="shown in every message's footer")
    unsubscribe: Unsubscribe
    audience: Audience = Field(default_factory=Audience)
    timezone: str = "UTC"
    pacing: Pacing = Field(default_factory=Pacing)
    stop_on: list[Stop] = Field(default_factory=lambda: list(STOPS))
    defaults: dict[str, str] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> CampaignSpec:
        from penguinctl.campaigns.render import compile_errors

        problems: list[tuple[Loc, str, bool]] = []
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(self.timezone)
        except Exception:
            problems.append((("timezone",), f"unknown time zone {self.timezone!r}", False))
        for where in ("min_gap", "jitter"):
            try:
                seconds(getattr(self.pacing, where))
            except ValueError as exc:
                problems.append((("pacing", where), str(exc), False))
        first = self.steps[0]
        if not first.subject and not (first.variants and all(v.subject for v in first.variants)):
            problems.append((("steps", 0, "subject"), "the first step needs a subject", True))
        for index, step in enumerate(self.steps):
            if not (step.text or step.html) and not step.variants:
                problems.append((("steps", index), "a step needs text or html", True))
            for path, message in compile_errors(step):
                problems.append((("steps", index, *path), message, False))
        if problems:
            raise FieldProblems(problems)
        return self


def check_campaigns(specs: SpecSet) -> Iterator[Issue]:
    """Campaigns: the tenant exists (when the load declares tenants).

    Senders are checked against the *store* by ``campaign plan`` (a mailbox that
    is not provisioned is reported there): a spec edit that renames a mailbox must
    not make every other command's load fail.
    """
    from penguinctl.spec.checks import missing_reference

    for doc in specs.of("Campaign").values():
        # A campaign file may be loaded alone (`campaign plan -f c.yaml`).
        issue = missing_reference(specs, doc, "spec.tenant", "Tenant", doc.spec.tenant)
        if issue is not None and specs.tenants:
            yield issue


register_kind("Campaign", CampaignSpec, check=check_campaigns)
