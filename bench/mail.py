"""Messages per second through the outbox, against a bare aiosmtplib loop, to the same aiosmtpd.

    .venv/bin/python bench/mail.py                 # 2,000 messages, SQLite outbox
    .venv/bin/python bench/mail.py --count 500     # a smoke run
    .venv/bin/python bench/mail.py --postgres      # the outbox on PostgreSQL
    .venv/bin/python bench/mail.py --build         # only the cost of building one email, by method

The server is aiosmtpd with its ``Sink`` handler in a process of its own (as a real MTA
would be). The bare loop sends the same number of already-built messages of the same size
over one connection; the outbox run claims the rows, renders both parts of each email (days
counted at send), builds it with the standard library's ``email`` package (notifications/mime.py),
sends them over one connection per batch and marks them sent. Goal: outbox >= 80% of bare.
Each path runs ``--rounds`` times (default 3) alternately; the best round of each counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# As a script, bench/ comes first on sys.path and bench/transitions.py would shadow the
# transitions package: put the repository root first instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import aiosmtplib  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402

from carepath.engine.clock import FixedClock  # noqa: E402
from carepath.notifications.catcher import free_port  # noqa: E402
from carepath.notifications.dispatch import SmtpTarget, build_message, dispatch_due  # noqa: E402
from carepath.storage.admin import message_id_for  # noqa: E402
from carepath.storage.db import make_engine  # noqa: E402
from carepath.storage.migrate import upgrade  # noqa: E402
from carepath.storage.outbox import Claimed, counts, enqueue  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PG = os.environ.get("CAREPATH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SENDER = "carepath@example.org"


def context(i: int) -> dict[str, object]:
    ref = f"FC-2026-{i:04d}"
    return {
        "case_ref": ref, "workflow": "fostering", "rule": "F5", "rule_label": "Stage 2 assessment to panel",
        "rule_class": "NMS", "rule_source": "Fostering NMS 14 / FSR 26", "start_on": "2026-07-16",
        "due_on": "2026-11-16", "fire_on": "2026-11-16", "tier": 0, "day_unit": "days",
        "link": f"https://carepath.example.gov.uk/cases/{ref}",
    }  # fmt: skip


def fill(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        for i in range(n):
            key = f"deadline:{i}:breach:0:2026-11-16"
            enqueue(conn, key=key, kind="breach", recipients=[f"sw{i % 40}@example.org"], context=context(i), now=NOW)


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("aiosmtpd did not start")


async def bare(port: int, messages: list[tuple[list[str], bytes]]) -> float:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    t0 = time.perf_counter()
    await smtp.connect()
    for recipients, payload in messages:
        await smtp.sendmail(SENDER, recipients, payload)
    await smtp.quit()
    return time.perf_counter() - t0


def prebuilt(n: int) -> list[tuple[list[str], bytes]]:
    """The bare loop's messages: the same emails, built before the clock starts."""
    out = []
    for i in range(n):
        key = f"deadline:{i}:breach:0:2026-11-16"
        item = Claimed(i, key, "breach", (f"sw{i % 40}@example.org",), context(i), 0, message_id_for(key))
        out.append(([f"sw{i % 40}@example.org"], build_message(item, SENDER, NOW)))
    return out


def build_costs(n: int, rounds: int) -> None:
    """``--build``: microseconds per message to render and build one email, by how it is built (best of rounds)."""
    from email.message import EmailMessage
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.policy import SMTP

    from carepath.notifications import mime
    from carepath.notifications.render import render

    key = "deadline:1:breach:0:2026-11-16"
    ctx = context(1)

    def email_message() -> bytes:  # EmailMessage with the SMTP policy and its content manager
        out = render("breach", ctx)
        msg = EmailMessage(policy=SMTP)
        msg["From"], msg["To"], msg["Subject"] = SENDER, "sw1@example.org", out.subject
        msg["Date"], msg["Message-ID"] = NOW, message_id_for(key)
        msg["Auto-Submitted"], msg["X-Carepath-Kind"] = "auto-generated", "breach"
        msg.set_content(out.text)
        msg.add_alternative(out.html, subtype="html")
        return msg.as_bytes()

    def mime_text() -> bytes:  # MIMEMultipart and MIMEText with compat32's defaults (base64 utf-8)
        out = render("breach", ctx)
        msg = MIMEMultipart("alternative")
        msg["From"], msg["To"], msg["Subject"] = SENDER, "sw1@example.org", out.subject
        msg["Date"], msg["Message-ID"] = mime.date_header(NOW), message_id_for(key)
        msg.attach(MIMEText(out.text, "plain", "utf-8"))
        msg.attach(MIMEText(out.html, "html", "utf-8"))
        return msg.as_bytes()

    def carepath() -> bytes:  # what the dispatcher does (notifications/mime.py)
        item = Claimed(1, key, "breach", ("sw1@example.org",), ctx, 0, message_id_for(key))
        return build_message(item, SENDER, NOW)

    def render_only() -> object:
        return render("breach", ctx)

    ways = {"render only": render_only, "carepath (mime.py)": carepath, "MIMEText, compat32": mime_text,
            "EmailMessage, SMTP": email_message}  # fmt: skip
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for name, build in ways.items():
            t0 = time.perf_counter()
            for _ in range(n):
                build()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    print(f"render and build, us per message (best of {rounds} x {n}; load average {os.getloadavg()[0]:.1f})")
    for name, us in best.items():
        print(f"  {name:20} {us:7.0f}")


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def outbox_round(url: str, port: int, n: int, batch: int) -> tuple[float, float]:
    engine = make_engine(url)
    upgrade(engine)
    fill(engine, n)
    if engine.dialect.name == "sqlite":  # start from an empty WAL, as a long-running database would
        engine.dispose()
        with sqlite3.connect(str(engine.url.database)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = SmtpTarget("127.0.0.1", port, "none", SENDER)
    clock = FixedClock(NOW)
    c0, t0 = cpu_seconds(), time.perf_counter()
    sent = dispatch_due(engine, clock, target, batch_size=batch)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    assert sent == n, sent
    assert counts(engine)["sent"] == n, counts(engine)
    engine.dispose()
    return elapsed, cpu


def bare_round(port: int, messages: list[tuple[list[str], bytes]]) -> tuple[float, float]:
    c0 = cpu_seconds()
    elapsed = asyncio.run(bare(port, messages))
    return elapsed, cpu_seconds() - c0


def fresh_url(postgres: bool, folder: Path, i: int) -> tuple[str, str | None]:
    if not postgres:
        return f"sqlite:///{folder / f'mail{i}.db'}", None
    name = f"cp_bench_mail_{os.getpid()}_{i}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG.rsplit("/", 1)[0] + "/" + name, name


def drop(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100, help="outbox rows per claim and SMTP connection")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", action="store_true", help="outbox on PostgreSQL instead of a SQLite file")
    ap.add_argument("--build", action="store_true", help="only time rendering and building one email, by method")
    args = ap.parse_args()
    if args.build:
        build_costs(min(args.count, 1000), args.rounds)
        return
    port = free_port()
    server = start_server(port)
    bare_runs: list[tuple[float, float]] = []
    outbox_runs: list[tuple[float, float]] = []
    try:
        messages = prebuilt(args.count)
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                bare_runs.append(bare_round(port, messages))
                url, name = fresh_url(args.postgres, Path(tmp), r)
                try:
                    outbox_runs.append(outbox_round(url, port, args.count, args.batch))
                finally:
                    drop(name)
    finally:
        server.kill()
        server.wait()
    report(args.count, args.rounds, "PostgreSQL" if args.postgres else "SQLite", bare_runs, outbox_runs)


def report(
    n: int, rounds: int, db: str, bare_runs: list[tuple[float, float]], outbox_runs: list[tuple[float, float]]
) -> None:
    bare_rate = n / min(w for w, _ in bare_runs)
    outbox_rate = n / min(w for w, _ in outbox_runs)
    bare_cpu = min(c for _, c in bare_runs) / n * 1e6
    outbox_cpu = min(c for _, c in outbox_runs) / n * 1e6
    print(f"messages:             {n} (best of {rounds} rounds; load average {os.getloadavg()[0]:.1f})")
    print(
        f"bare aiosmtplib:      {bare_rate:6.0f} msg/s  client CPU {bare_cpu:4.0f} us/msg  "
        f"rounds: {', '.join(f'{w:.2f}s' for w, _ in bare_runs)}"
    )
    print(
        f"outbox ({db}):{' ' * (11 - len(db))}{outbox_rate:6.0f} msg/s  client CPU {outbox_cpu:4.0f} us/msg  "
        f"rounds: {', '.join(f'{w:.2f}s' for w, _ in outbox_runs)}"
    )
    print(f"outbox / bare:        {outbox_rate / bare_rate:6.0%}  (goal >= 80%)")  # fmt: skip


if __name__ == "__main__":
    main()
