"""The sandbox MailU's SMTP hop: what a message costs through the endpoint.

    python bench/sandbox_submit.py                 # 50 messages
    python bench/sandbox_submit.py --messages 200

Applies the examples in a fresh sandbox workspace (through the CLI), then, in this
process, with the sandbox world running here:

* ``endpoint``: one :class:`~penguinctl.mail.smtp.Submission` (STARTTLS, AUTH) to the
  sandbox endpoint of ``hello@acme-growth.example``; the first send (connect, TLS,
  bcrypt check of the password, DKIM signing, the receiver's verdicts, Maildir write) and
  then messages/s on the reused connection;
* ``in_process`` (the baseline, what ``mail test`` did before the endpoint existed): sign
  with the same key and judge with the same verdict code against the same sandbox DNS,
  without SMTP.

No target: the sandbox is for correctness, not speed. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SENDER = "hello@acme-growth.example"
RAW = (
    b"From: <hello@acme-growth.example>\r\nTo: <x@bench.example>\r\nSubject: bench\r\n"
    b"Message-ID: <b@acme-growth.example>\r\n"
    b"List-Unsubscribe: <https://acme-growth.example/u>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nhello\r\n"
)


def _cli(root: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "penguinctl", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pc-bench-smtp-"))
    try:
        root = tmp / "ws"
        root.mkdir()
        (root / "penguinctl.yaml").write_text(
            "apiVersion: penguinctl/v1\nkind: Workspace\nsandbox: true\nparallelism: 4\n"
            "providers:\n  hostwinds: {type: hostwinds, credentials: {apiKey: env:X}}\n"
            "  cloudflare: {type: cloudflare, credentials: {apiToken: env:Y}}\n"
            "  mailu: {type: mailu}\n"
        )
        shutil.copytree(REPO / "examples", root / "examples")
        env = dict(os.environ, HOME=str(tmp / "home"), PYTHONPATH=str(REPO))
        env["PENGUIN_SECRET_KEY"] = base64.b64encode(os.urandom(32)).decode()
        _cli(root, env, "apply", "-f", "examples/", "--yes", "-t", "acme")
        creds = json.loads(
            _cli(
                root, env, "-o", "json", "mailbox", "creds", "acme-growth.example", "--show-secrets"
            )
        )
        password = next(r["password"] for r in creds if r["address"] == SENDER)
        outputs = json.loads(
            _cli(root, env, "-o", "json", "state", "show", f"mailu_mailbox/{SENDER}")
        )["outputs"]
        print(json.dumps(_measure(root, outputs, password, args.messages)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(root: Path, out: dict[str, object], password: str, n: int) -> dict[str, object]:
    from penguinctl.mail.signing import sign
    from penguinctl.mail.smtp import MailboxAccount, Submission
    from penguinctl.mail.verdicts import DnsLookup, evaluate
    from penguinctl.sandbox.host import SandboxWorld

    with SandboxWorld(root / "state" / "sandbox") as world:
        account = MailboxAccount(
            SENDER,
            str(out["smtp_host"]),
            int(str(out["smtp_port"])),
            SENDER,
            password,
            "auto",
            str(out["smtp_ca_file"]),
        )
        submission = Submission(account)
        started = time.perf_counter()
        submission.send(SENDER, "x@bench.example", RAW)
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(n):
            submission.send(SENDER, "x@bench.example", RAW)
        endpoint = n / (time.perf_counter() - started)
        submission.close()

        mailu = world.emulators["mailu"].state["servers"]
        name, pem = next(
            (name, key)
            for config in mailu.values()
            for name, key in config["dkim"].items()
            if name.startswith("acme-growth.example.")
        )
        selector = name.rpartition(".")[2]
        dns = DnsLookup(world.dns_address)
        started = time.perf_counter()
        for _ in range(n):
            signed = sign(RAW, domain="acme-growth.example", selector=selector, private_pem=pem)
            evaluate(
                signed,
                peer_ip=account.host,
                helo=world.smtp.helo(account.host),
                mail_from=SENDER,
                tls=True,
                dns=dns,
            )
        in_process = n / (time.perf_counter() - started)
    load = os.getloadavg()[0]
    print(
        f"first send {first * 1000:.0f} ms; endpoint {endpoint:.1f} msg/s vs in-process "
        f"sign+judge {in_process:.1f} msg/s = {endpoint / in_process:.2f}x (load {load:.1f})"
    )
    return {
        "bench": "sandbox_submit",
        "messages": n,
        "first_send_ms": round(first * 1000),
        "endpoint_msg_s": round(endpoint, 1),
        "in_process_msg_s": round(in_process, 1),
        "ratio": round(endpoint / in_process, 2),
        "load": round(load, 1),
    }


if __name__ == "__main__":
    main()
