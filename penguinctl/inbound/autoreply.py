"""Auto-replies (RFC 3834 and the vacation notices that ignore it) and their return date."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.message import Message

from penguinctl.inbound import parts

_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|autoreply|out of (the )?office|"
    r"abwesenheit|absence|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|"
    r"fuera de la oficina|on vacation|vacation|away from (my|the) (desk|office)|auto:)",
    re.I,
)
_BODY = re.compile(
    r"\b(out of (the )?office|on (annual )?leave|on vacation|on holiday|away from the office|"
    r"limited access to (my )?e-?mail|currently away|this is an automatic reply)\b",
    re.I,
)


def reason(msg: Message, subject: str, body: str) -> str | None:
    """Why ``msg`` is an auto-reply, or None when nothing says so."""
    auto = parts.header(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if parts.header(msg, name):
            return f"{name} header"
    if parts.header(msg, "Precedence").lower() == "auto_reply":
        return "Precedence: auto_reply"
    if parts.header(msg, "X-Auto-Response-Suppress") and _SUBJECT.search(subject):
        return "Exchange auto-response"
    if _SUBJECT.search(subject):
        return f"subject {subject[:60]!r}"
    if _BODY.search(body[:2000]) and re.search(r"\b(until|till|back|return)", body[:2000], re.I):
        return "out-of-office wording"
    return None


_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january", "januar", "janvier", "enero"),
            ("feb", "february", "februar", "février", "fevrier", "febrero"),
            ("mar", "march", "märz", "maerz", "mars", "marzo"),
            ("apr", "april", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juni", "juin", "junio"),
            ("jul", "july", "juli", "juillet", "julio"),
            ("aug", "august", "août", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "oktober", "octobre", "octubre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "dezember", "décembre", "decembre", "diciembre"),
        ]
    )
    for m in names
}
_MONTH = r"([a-zäéû]{3,10})\.?"
_CUE = (
    r"(?:until|till|through|thru|back on|back in the office on|return(?:ing)? on|"
    r"return(?:ing)?|bis|jusqu'au|au|hasta el)"
)
_PATTERNS = (
    # until 2027-01-05
    (re.compile(_CUE + r"\s+(?:\w+,?\s+)?(\d{4})-(\d{2})-(\d{2})", re.I), ("y", "m", "d")),
    # until Monday, January 5(th)(, 2027)
    (
        re.compile(
            _CUE
            + r"\s+(?:[a-z]+,?\s+)?"
            + _MONTH
            + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?(?:\s+(\d{4}))?",
            re.I,
        ),
        ("M", "d", "y"),
    ),
    # until Monday 5(th) January (2027) / bis 5. Januar 2027
    (
        re.compile(
            _CUE
            + r"\s+(?:[a-z]+,?\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?"
            + _MONTH
            + r",?(?:\s+(\d{4}))?",
            re.I,
        ),
        ("d", "M", "y"),
    ),
    # until 05.01.2027 / 05/01/2027 (day first: the notation of most of the world)
    (
        re.compile(_CUE + r"\s+(?:[a-z]+,?\s+)?(\d{1,2})[./](\d{1,2})[./](\d{4})", re.I),
        ("d", "m", "y"),
    ),
)


def return_date(text: str, today: date) -> date | None:
    """The first return date written after a cue ("until", "back on", …), not in the past.

    A date without a year is the next such date on or after ``today``. Slash dates
    are read day first unless that is impossible (a US ``01/25/2027``).
    """
    best = None
    for pattern, order in _PATTERNS:
        for found in pattern.finditer(text[:5000]):
            values = dict(zip(order, found.groups(), strict=True))
            when = _build(values, today)
            if when is not None and when >= today and (best is None or found.start() < best[0]):
                best = (found.start(), when)
            if when is not None:
                break
    return best[1] if best else None


def _build(values: dict[str, str | None], today: date) -> date | None:
    month_name = values.get("M")
    month = _MONTHS.get(month_name.lower()) if month_name else None
    if month_name and month is None:
        return None
    day = int(values["d"] or 0)
    if month is None:
        month = int(values["m"] or 0)
        if month > 12 >= day:  # 01/25/2027: the US order
            day, month = month, day
    year_text = values.get("y")
    try:
        if year_text:
            return date(int(year_text), month, day)
        when = date(today.year, month, day)
        return when if when >= today - timedelta(days=1) else date(today.year + 1, month, day)
    except ValueError:
        return None
