"""The scheduler is a pure function of (snapshot, clock): tested with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from penguinctl.campaigns.schedule import (
    ContactState,
    MailboxState,
    SendState,
    Snapshot,
    schedule,
)
from penguinctl.campaigns.spec import CampaignSpec

BOXES = ["a@acme.example", "b@acme.example"]
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def spec(**pacing: Any) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "tenant": "acme",
            "senders": BOXES,
            "postalAddress": "1 Main St, Town",
            "unsubscribe": {"baseUrl": "https://u.example"},
            "timezone": "America/Chicago",
            "pacing": {"minGap": 0, "serverRate": 1000, **pacing},
            "steps": [
                {"subject": "s", "text": "one"},
                {"delay": "2d", "text": "two"},
                {"delay": "1d", "text": "three", "when": "replied"},
            ],
        }
    )


def snap(
    contacts: list[ContactState], the_spec: CampaignSpec | None = None, **boxes: Any
) -> Snapshot:
    mailboxes = {
        box: MailboxState(box, "mail.acme.example", **boxes.get(box.split("@")[0], {}))
        for box in BOXES
    }
    return Snapshot("c", 1, "acme", "active", the_spec or spec(), tuple(contacts), mailboxes)


def people(n: int) -> list[ContactState]:
    return [ContactState(i, f"p{i}@example.com", {}) for i in range(1, n + 1)]


def test_first_step_is_due_at_once_and_senders_rotate_deterministically():
    plan = schedule(snap(people(40)), MONDAY_10.replace(hour=15))  # 09:00 in Chicago
    assert len(plan.due) == 40
    per_box = {box: sum(1 for j in plan.due if j.mailbox == box) for box in BOXES}
    assert min(per_box.values()) > 10
    again = schedule(snap(people(40)), MONDAY_10.replace(hour=15))
    assert [j.mailbox for j in again.due] == [j.mailbox for j in plan.due]


def test_window_and_days_use_the_recipient_zone_else_the_campaign_zone():
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "window": {"start": "09:00", "end": "17:00"},
    }
    tokyo = ContactState(1, "t@example.com", {"timezone": "Asia/Tokyo"})
    chicago = ContactState(2, "c@example.com", {})  # campaign zone: America/Chicago
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Mon 10:00 Tokyo, Sun 19:00 Chicago
    plan = schedule(snap([tokyo, chicago], spec(**window)), now)
    assert [j.contact_id for j in plan.due] == [1]
    (wait,) = plan.waiting
    assert wait.reason == "outside the sending window"
    assert wait.not_before == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Mon 09:00 Chicago
    friday_evening = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # Fri 17:30 Chicago
    plan = schedule(snap([chicago], spec(**window)), friday_evening)
    assert plan.waiting[0].not_before == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday


def test_daily_cap_counts_the_campaign_day_and_any_earlier_sends():
    now = MONDAY_10.replace(hour=20)  # 14:00 Chicago
    earlier = tuple(now - timedelta(hours=h) for h in (1, 2, 3))  # same Chicago day
    yesterday = (now - timedelta(hours=20),)
    plan = schedule(snap(people(20), spec(dailyCap=5), a={"recent": earlier + yesterday}), now)
    per_box = {box: sum(1 for j in plan.due if j.mailbox == box) for box in BOXES}
    assert per_box == {"a@acme.example": 2, "b@acme.example": 5}
    capped = [w for w in plan.waiting if w.reason.startswith("daily cap")]
    assert capped and capped[0].not_before == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_min_gap_with_jitter_spaces_the_sends_of_one_mailbox():
    the_spec = spec(minGap="10m", jitter="5m")
    now = MONDAY_10
    plan = schedule(snap(people(10), the_spec), now)
    assert sorted(j.mailbox for j in plan.due) == BOXES  # one per mailbox
    last = {"recent": (now,)}
    later = schedule(snap(people(10), the_spec, a=last, b=last), now + timedelta(minutes=9))
    assert not later.due
    wake = later.next_wake
    assert wake is not None and now + timedelta(minutes=10) <= wake <= now + timedelta(minutes=15)
    assert schedule(snap(people(10), the_spec, a=last, b=last), wake + timedelta(seconds=1)).due


def test_per_server_rate_holds_across_mailboxes():
    plan = schedule(snap(people(50), spec(serverRate=7)), MONDAY_10)
    assert len(plan.due) == 7
    assert any(w.reason == "rate of server mail.acme.example" for w in plan.waiting)


def test_steps_follow_their_delay_and_keep_the_mailbox():
    sent = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    contact = ContactState(1, "p@example.com", {}, {0: SendState("sent", "b@acme.example", sent)})
    early = schedule(snap([contact]), sent + timedelta(days=1))
    assert not early.due and early.waiting[0].not_before == sent + timedelta(days=2)
    (job,) = schedule(snap([contact]), sent + timedelta(days=2, minutes=1)).due
    assert (job.step, job.mailbox) == (1, "b@acme.example")


def test_stop_conditions_branches_suppression_and_ambiguity():
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    sent_both = {
        0: SendState("sent", "a@acme.example", t0),
        1: SendState("sent", "a@acme.example", t0 + timedelta(days=2)),
    }
    later = t0 + timedelta(days=5)
    replied = ContactState(1, "r@example.com", {}, sent_both, frozenset({"reply"}))
    # reply is a stop condition by default: nothing more.
    assert schedule(snap([replied]), later).waiting[0].reason == "stopped: reply"
    # Without it, the `when: replied` branch is sent to those who replied only.
    branching = spec().model_copy(update={"stop_on": ["bounce"]})
    assert [j.step for j in schedule(snap([replied], branching), later).due] == [2]
    silent = ContactState(2, "s@example.com", {}, sent_both)
    assert schedule(snap([silent], branching), later).waiting[0].reason == "sequence complete"
    suppressed = ContactState(3, "x@example.com", {}, suppressed=True)
    assert schedule(snap([suppressed]), later).waiting[0].reason == "stopped: suppressed"
    unclear = ContactState(
        4, "u@example.com", {}, {0: SendState("ambiguous", "a@acme.example", t0)}
    )
    assert schedule(snap([unclear]), later).waiting[0].reason == "blocked: step 1 is ambiguous"


def test_deferred_sends_retry_with_backoff_and_paused_mailboxes_wait():
    t0 = MONDAY_10
    deferred = ContactState(
        1, "d@example.com", {}, {0: SendState("deferred", "a@acme.example", t0, 1)}
    )
    assert not schedule(snap([deferred]), t0 + timedelta(seconds=30)).due
    (job,) = schedule(snap([deferred]), t0 + timedelta(seconds=61)).due
    assert job.retry and job.mailbox == "a@acme.example"
    paused = schedule(snap([deferred], a={"paused": "535 auth failed"}), t0 + timedelta(hours=1))
    assert paused.waiting[0].reason == "mailbox a@acme.example paused: 535 auth failed"
    # A new contact whose sender would be the paused mailbox goes to an active one.
    plan = schedule(snap(people(10), a={"paused": "x"}), t0)
    assert {j.mailbox for j in plan.due} == {"b@acme.example"}


def test_a_paused_or_stopped_campaign_schedules_nothing():
    s = snap(people(3))
    paused = Snapshot(s.campaign, 1, "acme", "paused", s.spec, s.contacts, s.mailboxes)
    assert not schedule(paused, MONDAY_10).due
