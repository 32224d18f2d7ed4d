"""The scheduler: a pure function of a store snapshot and the clock.

:func:`schedule` decides, for every contact of a campaign, what is next and when:
``due`` jobs may be sent now; everything else waits with a reason and the earliest
time (``not_before``). It reads nothing and writes nothing, so it is tested with a
fake clock, and the runner (or the workers of the scale-out issue) only execute
its :class:`SendJob`\\ s — the at-most-once claim happens there, in the store.

Rules, in order: suppression and stop events (reply, bounce, …) end the sequence;
an ambiguous, in-flight or failed send blocks it for a human; step ``k`` is due
``delay`` after step ``k-1`` was sent; it is sent only inside the sending window
and days, in the contact's time zone (field ``timezone``) or the campaign's; the
contact keeps the mailbox of its first send; a mailbox sends at most ``dailyCap``
a day (the campaign's day), with ``minGap`` + a deterministic jitter between two
sends, and each server takes at most ``serverRate`` messages a minute. A contact
whose auto-reply gave a return date (``away_until``, recorded by ``inbox sync``)
is skipped until that day starts in its time zone, then goes on where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from penguinctl.campaigns.render import _unit
from penguinctl.campaigns.spec import DAYS, seconds

RETRY_BACKOFF = (60.0, 300.0, 900.0, 3600.0)  # after a deferral (4xx, connection error)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class SendState:
    status: str  # see tables.SEND_STATUSES
    mailbox: str
    at: datetime  # sent_at when sent, else claimed_at
    attempts: int = 1


@dataclass(frozen=True)
class ContactState:
    id: int
    email: str
    fields: dict[str, Any]
    sends: dict[int, SendState] = field(default_factory=dict)  # step -> state
    events: frozenset[str] = frozenset()  # reply, bounce, complaint, unsubscribe, auto_reply
    suppressed: bool = False
    away_until: date | None = None  # an auto-reply's return date: nothing is sent before


@dataclass(frozen=True)
class MailboxState:
    address: str
    server: str
    paused: str | None = None
    recent: tuple[datetime, ...] = ()  # send times of the last ~48 hours, any campaign


@dataclass(frozen=True)
class Snapshot:
    campaign: str
    campaign_id: int
    tenant: str
    state: str  # active | paused | stopped
    spec: Any  # CampaignSpec
    contacts: tuple[ContactState, ...]
    mailboxes: dict[str, MailboxState]


@dataclass(frozen=True)
class SendJob:
    """One send to make: what the queue carries (the runner or a worker executes it)."""

    campaign_id: int
    campaign: str
    tenant: str
    contact_id: int
    step: int
    mailbox: str
    retry: bool = False  # a deferred send being retried


@dataclass(frozen=True)
class Waiting:
    contact_id: int
    step: int | None
    reason: str
    not_before: datetime | None = None


@dataclass
class Schedule:
    due: list[SendJob] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    done: int = 0  # contacts whose sequence is over

    @property
    def next_wake(self) -> datetime | None:
        times = [w.not_before for w in self.waiting if w.not_before is not None]
        return min(times) if times else None


def schedule(snap: Snapshot, now: datetime) -> Schedule:
    out = Schedule()
    if snap.state != "active":
        out.waiting = [Waiting(c.id, None, f"campaign {snap.state}") for c in snap.contacts]
        return out
    spec = snap.spec
    pacing = spec.pacing
    zone = ZoneInfo(spec.timezone)
    gap = seconds(pacing.min_gap)
    jitter = seconds(pacing.jitter)
    minute_ago = now - timedelta(seconds=60)
    day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    # Capacity state, updated as jobs are handed out in this pass.
    used: dict[str, int] = {}
    free_at: dict[str, datetime] = {}
    server_minute: dict[str, list[datetime]] = {}  # sends of the last minute per server
    for box in snap.mailboxes.values():
        used[box.address] = sum(1 for t in box.recent if t >= day_start)
        server_minute.setdefault(box.server, []).extend(t for t in box.recent if t > minute_ago)
        if box.recent:
            last = max(box.recent)
            free_at[box.address] = last + timedelta(
                seconds=gap + _jitter(box.address, last, jitter)
            )
    active = [s for s in spec.senders if s in snap.mailboxes and not snap.mailboxes[s].paused]
    stops = set(spec.stop_on)

    for contact in snap.contacts:
        step, wait = _next_step(spec, contact, stops, now)
        if wait is not None:
            if wait.reason == "sequence complete" or wait.reason.startswith("stopped"):
                out.done += 1
            out.waiting.append(wait)
            continue
        assert step is not None
        first = min(contact.sends.values(), key=lambda s: s.at, default=None)
        mailbox = (
            first.mailbox if first else _rotate(spec.senders, active, snap.campaign, contact.id)
        )
        if mailbox is None:
            out.waiting.append(Waiting(contact.id, step, "every sender mailbox is paused"))
            continue
        found = snap.mailboxes.get(mailbox)
        if found is None:
            out.waiting.append(Waiting(contact.id, step, f"mailbox {mailbox} is not provisioned"))
            continue
        box = found
        if box.paused:
            out.waiting.append(Waiting(contact.id, step, f"mailbox {mailbox} paused: {box.paused}"))
            continue
        tz = _zone(contact.fields.get("timezone"), zone)
        if contact.away_until is not None:
            back = datetime.combine(contact.away_until, time(0), tz)
            if back > now:
                why = f"away (auto-reply) until {contact.away_until.isoformat()}"
                out.waiting.append(Waiting(contact.id, step, why, back))
                continue
        opens = _window_open(pacing, now, tz)
        if opens > now:
            out.waiting.append(Waiting(contact.id, step, "outside the sending window", opens))
            continue
        if used.get(mailbox, 0) >= pacing.daily_cap:
            out.waiting.append(
                Waiting(contact.id, step, f"daily cap of {mailbox}", day_start + timedelta(days=1))
            )
            continue
        ready = free_at.get(mailbox, now)
        if ready > now:
            out.waiting.append(Waiting(contact.id, step, f"pacing of {mailbox}", ready))
            continue
        minute = server_minute.setdefault(box.server, [])
        if len(minute) >= pacing.server_rate:
            ready = sorted(minute)[-int(pacing.server_rate)] + timedelta(seconds=60)
            out.waiting.append(Waiting(contact.id, step, f"rate of server {box.server}", ready))
            continue
        retry = step in contact.sends
        out.due.append(
            SendJob(snap.campaign_id, snap.campaign, snap.tenant, contact.id, step, mailbox, retry)
        )
        used[mailbox] = used.get(mailbox, 0) + 1
        if gap or jitter:
            free_at[mailbox] = now + timedelta(seconds=gap + _jitter(mailbox, now, jitter))
        minute.append(now)
    return out


def _next_step(
    spec: Any, contact: ContactState, stops: set[str], now: datetime
) -> tuple[int | None, Waiting | None]:
    if contact.suppressed:
        return None, Waiting(contact.id, None, "stopped: suppressed")
    hit = sorted(stops & contact.events)
    if hit:
        return None, Waiting(contact.id, None, f"stopped: {hit[0]}")
    last_sent: datetime | None = None
    for index, step in enumerate(spec.steps):
        state = contact.sends.get(index)
        if state is not None and state.status == "sent":
            last_sent = state.at
            continue
        if state is not None and state.status in ("sending", "ambiguous", "failed"):
            return None, Waiting(contact.id, index, f"blocked: step {index + 1} is {state.status}")
        if step.when == "noReply" and "reply" in contact.events:
            continue
        if step.when == "replied" and "reply" not in contact.events:
            continue
        due = (last_sent or now) + timedelta(seconds=seconds(step.delay)) if index else now
        if state is not None and state.status == "deferred":
            if state.attempts >= MAX_ATTEMPTS:
                return None, Waiting(contact.id, index, "blocked: too many deferrals")
            backoff = RETRY_BACKOFF[min(state.attempts, len(RETRY_BACKOFF)) - 1]
            due = max(due, state.at + timedelta(seconds=backoff))
        if due > now:
            return None, Waiting(contact.id, index, f"step {index + 1} not due yet", due)
        return index, None
    return None, Waiting(contact.id, None, "sequence complete")


def _rotate(senders: list[str], active: list[str], campaign: str, contact_id: int) -> str | None:
    """A sender fixed per contact; the next active one if it is paused."""
    if not active:
        return None
    start = int(_unit("sender", campaign, contact_id) * len(senders))
    for offset in range(len(senders)):
        candidate = senders[(start + offset) % len(senders)]
        if candidate in active:
            return candidate
    return None


def _jitter(mailbox: str, last: datetime, jitter: float) -> float:
    return _unit("jitter", mailbox, last.isoformat()) * jitter if jitter else 0.0


def _zone(name: Any, fallback: ZoneInfo) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except Exception:
            return fallback
    return fallback


def _window_open(pacing: Any, now: datetime, tz: ZoneInfo) -> datetime:
    """``now`` if inside the window and days (in ``tz``), else when it next opens."""
    local = now.astimezone(tz)
    start = time.fromisoformat(pacing.window.start)
    end = None if pacing.window.end == "24:00" else time.fromisoformat(pacing.window.end)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if DAYS[day.weekday()] not in pacing.days:
            continue
        opens = datetime.combine(day, start, tz)
        closes = (
            datetime.combine(day, end, tz)
            if end
            else datetime.combine(day + timedelta(days=1), time(0), tz)
        )
        if offset == 0 and opens <= local < closes:
            return now
        if opens > local:
            return opens
    return now + timedelta(days=7)
