"""worker run|schedule|status: share the sending through a Redis queue (Dramatiq)."""

from __future__ import annotations

import time

import typer

app = typer.Typer(no_args_is_help=True)

REDIS = typer.Option(
    None, "--redis", envvar="PENGUIN_REDIS_URL", help="redis://host:port/db (default local)"
)


@app.command()
def run(
    ctx: typer.Context,
    redis: str = REDIS,
    threads: int = typer.Option(1, "--threads", min=1, help="sending threads in this process"),
) -> None:
    """Take sends off the queue until stopped (SIGTERM); global limits kept in Redis."""
    from penguinctl.workers.run import run_worker

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    try:
        run_worker(session.store, url=redis, threads=threads, progress=out.info)
    finally:
        session.close()


@app.command()
def schedule(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="metadata.name of the Campaign"),
    redis: str = REDIS,
    once: bool = typer.Option(False, "--once", help="enqueue what is due now and exit"),
    every: float = typer.Option(5.0, "--every", help="seconds between passes"),
) -> None:
    """The campaign scheduler: enqueue due sends for the workers."""
    from penguinctl.campaigns.snapshot import find_campaign
    from penguinctl.workers import queue
    from penguinctl.workers.run import schedule_once

    g = ctx.obj
    out = g.out()
    session = g.session(out)
    the_broker = queue.broker(redis)
    try:
        campaign = find_campaign(session.store, name)
        while True:
            result = schedule_once(session.store, campaign, the_broker)
            if result["ambiguous"]:
                out.warn(f"{result['ambiguous']} send(s) of dead workers are ambiguous")
            if once:
                break
            out.info(f"{result['enqueued']} enqueued")
            time.sleep(every)
    finally:
        the_broker.close()
        session.close()
    if out.mode == "json":
        out.json(result)
    else:
        out.success(f"campaign {name}: {result['due']} due, {result['enqueued']} enqueued")


@app.command()
def status(ctx: typer.Context, redis: str = REDIS) -> None:
    """Workers, queue depth and throughput."""
    from penguinctl.workers.run import status as read

    g = ctx.obj
    out = g.out()
    data = read(redis)
    if out.mode == "json":
        out.json(data)
        return
    rows = [
        [w["id"], "yes" if w["alive"] else "gone", w["threads"], w["sent"]] for w in data["workers"]
    ]
    out.table("workers", ["worker", "alive", "threads", "sent"], rows)
    q = data["queue"]
    out.info(
        f"queue: {q['queued']} queued, {q['delayed']} delayed, {q['in_flight']} in flight; "
        f"{data['throughput_per_min']} sent/min over the last 5 minutes"
    )
