"""10,000 personalized messages into Postfix's ``smtp-sink`` on loopback: messages/s.

    python bench/campaign_send.py                # 10,000 messages, 8 mailboxes/connections
    python bench/campaign_send.py --messages 2000

Measured in the same run, each in its own child process:

* ``campaign``: ``Runner.run(once=True)`` of a campaign with 8 sender mailboxes (so 8
  persistent connections), every send claimed in and marked in the SQLite ledger;
* ``modern``: 8 threads, each a persistent ``smtplib`` connection, building each message
  with ``EmailMessage`` (``set_content``/``add_alternative``) and ``send_message``;
* ``legacy``: the same with ``MIMEMultipart``/``MIMEText``;
* ``prebuilt``: one message serialised once, its bytes resent with ``sendmail`` (the ceiling).

Target (issue 7): campaign >= 0.6x the faster of modern and legacy. Ends with JSON lines.
Needs ``smtp-sink`` (Debian package ``postfix``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _seed import seed  # noqa: E402  (bench/ is the script's own folder on sys.path)

SENDERS = [f"s{i}@bench.example" for i in range(8)]
TEXT = (
    "Hi {name},\n\nDoes {company} still send from a shared IP?"
    " We set up dedicated domains.\n\nJane\n"
)
HTML = "<p>Hi {name},</p><p>Does {company} still send from a shared IP?</p><p>Jane</p>"


def smtp_sink() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(binary):
        sys.exit("smtp-sink not found: apt-get install postfix")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([binary, *user, f"127.0.0.1:{port}", "1024"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("smtp-sink did not start")


def baseline(mode: str, port: int, n: int) -> float:
    import smtplib
    from email.message import EmailMessage
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.utils import formatdate, make_msgid

    def build(i: int) -> object:
        name, company = f"P{i}", f"Company {i}"
        if mode == "modern":
            msg = EmailMessage()
            msg["From"], msg["To"] = SENDERS[i % 8], f"person{i}@example.com"
            msg["Subject"], msg["Date"] = f"A question for {company}", formatdate()
            msg["Message-ID"] = make_msgid(domain="bench.example")
            msg.set_content(TEXT.format(name=name, company=company), cte="quoted-printable")
            msg.add_alternative(
                HTML.format(name=name, company=company), subtype="html", cte="quoted-printable"
            )
            return msg
        legacy = MIMEMultipart("alternative")
        legacy["From"], legacy["To"] = SENDERS[i % 8], f"person{i}@example.com"
        legacy["Subject"], legacy["Date"] = f"A question for {company}", formatdate()
        legacy["Message-ID"] = make_msgid(domain="bench.example")
        legacy.attach(MIMEText(TEXT.format(name=name, company=company), "plain", "utf-8"))
        legacy.attach(MIMEText(HTML.format(name=name, company=company), "html", "utf-8"))
        return legacy

    prebuilt = build(0).as_bytes() if mode == "prebuilt" else b""  # type: ignore[attr-defined]
    if mode == "prebuilt":
        mode = "prebuilt"

    def worker(k: int) -> None:
        conn = smtplib.SMTP("127.0.0.1", port)
        for i in range(k, n, 8):
            if prebuilt:
                conn.sendmail(SENDERS[k], [f"person{i}@example.com"], prebuilt)
            else:
                conn.send_message(build(i))  # type: ignore[arg-type]
        conn.quit()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n / (time.perf_counter() - start)


def _jinja(template: str) -> str:
    return template.replace("{name}", "{{ first_name }}").replace("{company}", "{{ company }}")


def campaign(port: int, n: int) -> float:
    from penguinctl.campaigns import ops
    from penguinctl.campaigns.runner import Runner
    from penguinctl.store import SecretBox, open_store

    tmp = Path(tempfile.mkdtemp())
    store = open_store(f"sqlite:///{tmp / 'penguin.db'}", secret_key=SecretBox([os.urandom(32)]))
    seed(store, SENDERS, port, n, tmp)
    spec = tmp / "c.yaml"
    spec.write_text(
        "apiVersion: penguinctl/v1\nkind: Campaign\nmetadata: {name: bench}\nspec:\n"
        f"  tenant: bench\n  senders: {json.dumps(SENDERS)}\n  fromName: Jane\n"
        "  postalAddress: 1 Main Street, Dallas TX\n"
        "  unsubscribe: {baseUrl: 'https://u.bench.example'}\n  audience: {list: all}\n"
        "  pacing: {minGap: 0, dailyCap: 1000000, serverRate: 1000000000}\n"
        "  steps:\n"
        "    - subject: 'A question for {{ company }}'\n"
        f"      text: {json.dumps(_jinja(TEXT))}\n"
        f"      html: {json.dumps(_jinja(HTML))}\n"
    )
    row = ops.record(store, [str(spec)], "bench", sandbox=False)
    start = time.perf_counter()
    result = Runner(store, row).run(once=True)
    rate = n / (time.perf_counter() - start)
    assert result.counts.get("sent") == n, result.counts
    store.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PORT"))
    args = parser.parse_args()
    if args.child:
        mode, port = args.child[0], int(args.child[1])
        rate = (
            campaign(port, args.messages)
            if mode == "campaign"
            else baseline(mode, port, args.messages)
        )
        print(json.dumps({"rate": rate}))
        return
    sink, port = smtp_sink()
    rates: dict[str, float] = {}
    try:
        for mode in ("prebuilt", "modern", "legacy", "campaign"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--messages",
                    str(args.messages),
                    "--child",
                    mode,
                    str(port),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            rates[mode] = json.loads(out.stdout.strip().splitlines()[-1])["rate"]
            print(f"  {mode:9} {rates[mode]:8,.0f} msg/s")
    finally:
        sink.terminate()
        sink.wait()
    best = max(rates["modern"], rates["legacy"])
    print(f"campaign / faster per-message loop: {rates['campaign'] / best:.2f} (target >= 0.6)")
    for mode, rate in rates.items():
        print(
            json.dumps(
                {
                    "bench": "campaign_send",
                    "case": mode,
                    "messages": args.messages,
                    "msg_per_s": rate,
                }
            )
        )
    print(json.dumps({"bench": "campaign_send", "ratio_vs_best_loop": rates["campaign"] / best}))


if __name__ == "__main__":
    main()
