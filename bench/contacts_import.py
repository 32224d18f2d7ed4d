"""Import N contacts from CSV into a fresh SQLite store: rows/s and peak RSS.

    python bench/contacts_import.py              # N = 1,000,000
    python bench/contacts_import.py --rows 100000

Each measurement runs in its own child process (peak RSS is that run's own):

* ``import``: ``penguinctl.campaigns.contacts.import_file`` — read, validate with
  email-validator, dedupe, upsert in batches, add to a list;
* ``baseline``: the floor measured in the same run — ``csv.reader`` plus
  ``email_validator.validate_email`` per row, writing nothing.

The file has ~1% invalid addresses, ~0.5% duplicates in another case and ~1% IDN
addresses, CRLF line ends and a BOM. Targets (issue 7): < 60 s and < 300 MB for
1,000,000 rows. Ends with one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def generate(n: int, path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("email,first_name,company,timezone\r\n")
        for i in range(n):
            if i % 100 == 7:
                email = f"broken{i}.example.com"  # no @
            elif i % 200 == 11:
                email = f"PERSON{i - 1}@EXAMPLE{(i - 1) % 997}.COM"  # earlier row, other case
            elif i % 100 == 13:
                email = f"jörg{i}@bücher{i % 13}.example"
            else:
                email = f"person{i}@example{i % 997}.com"
            f.write(f"{email},First{i},Company {i % 5000},Europe/Berlin\r\n")


def child(mode: str, csv_path: str, db_path: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = before.ru_utime + before.ru_stime
    start = time.perf_counter()
    if mode == "baseline":
        import csv

        from email_validator import EmailNotValidError, validate_email

        good = 0
        with open(csv_path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                try:
                    validate_email(row[0], check_deliverability=False)
                    good += 1
                except EmailNotValidError:
                    pass
        result = {"good": good}
    else:
        from penguinctl.campaigns.contacts import import_file
        from penguinctl.store import SecretBox, open_store

        store = open_store(f"sqlite:///{db_path}", secret_key=SecretBox([os.urandom(32)]))
        summary = import_file(store, Path(csv_path), tenant="bench", list_name="all")
        store.close()
        result = summary.to_dict()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024
    # CPU seconds (all threads): on a shared, loaded machine the wall time is mostly
    # the CPU share this process got; the CPU time is the work it did.
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": rss_mb, **result}))


def measure(mode: str, csv_path: Path, db_path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(csv_path), str(db_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CSV", "DB"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, db_path = Path(tmp) / "contacts.csv", Path(tmp) / "penguin.db"
        generate(args.rows, csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        base = measure("baseline", csv_path, db_path)
        run = measure("import", csv_path, db_path)
        again = measure("import", csv_path, db_path)  # a re-import: every row an update
    rate = args.rows / float(run["seconds"])  # type: ignore[arg-type]
    base_rate = args.rows / float(base["seconds"])  # type: ignore[arg-type]
    print(f"{args.rows:,} rows ({size_mb:.0f} MB CSV)")
    print(
        f"  baseline csv+email-validator: {base['seconds']:.1f} s ({base_rate:,.0f} rows/s),"
        f" {base['cpu_seconds']:.1f} s CPU"
    )
    print(
        f"  import:   {run['seconds']:.1f} s ({rate:,.0f} rows/s), {run['cpu_seconds']:.1f} s CPU,"
        f" peak RSS {run['peak_rss_mb']:.0f} MB,"
        f" imported {run['imported']:,}, skipped {run['skipped']:,}"
    )
    print(
        f"  re-import: {again['seconds']:.1f} s, {again['cpu_seconds']:.1f} s CPU,"
        f" peak RSS {again['peak_rss_mb']:.0f} MB,"
        f" updated {again['updated']:,}"
    )
    print(f"  import / baseline rate: {rate / base_rate:.2f}")
    cpu_ratio = float(base["cpu_seconds"]) / float(run["cpu_seconds"])  # type: ignore[arg-type]
    print(f"  import / baseline CPU-time rate: {cpu_ratio:.2f}")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} (2 cores here)")
    for name, data in (("baseline", base), ("import", run), ("reimport", again)):
        print(json.dumps({"bench": "contacts_import", "case": name, "rows": args.rows, **data}))


if __name__ == "__main__":
    main()
