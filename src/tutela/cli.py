"""The `tutela` command."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tutela.config import SETTINGS_DOC, ConfigError, Settings

if TYPE_CHECKING:
    from tutela.check import Outcome
    from tutela.policy import Policy
    from tutela.store import Database

app = typer.Typer(help="Tutela: child-safety moderation before publication.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
policy_app = typer.Typer(help="Policies: validate, test, replay.", no_args_is_help=True)
text_app = typer.Typer(help="Text detection: see what the detector sees.", no_args_is_help=True)
banks_app = typer.Typer(help="Hash banks: lists of known images to block or allow.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")
app.add_typer(text_app, name="text")
app.add_typer(banks_app, name="banks")
webhooks_app = typer.Typer(help="Webhooks: the outbox, dead letters, redelivery.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: verify its hash chain, read it.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(audit_app, name="audit")

# Off a terminal (piped, captured by CI) Rich would wrap tables at 80 columns and cut cells.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _audit(conn: object, action: str, subject: str, data: dict[str, object]) -> None:
    """A configuration change from the command line, in the audit log (in the change's transaction)."""
    import getpass

    from tutela import audit

    audit.record(conn, f"cli:{getpass.getuser()}", action, subject, data, dt.datetime.now(dt.UTC))  # type: ignore[arg-type]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as e:
        raise _fail(str(e)) from None


def _database() -> Database:
    from tutela.store import Database

    return Database(_settings().database_url)


def _migrated_database() -> Database:
    """The configured database, refused with one clear line when unreachable or behind."""
    from sqlalchemy.exc import SQLAlchemyError

    from tutela.store.migrate import SchemaOutOfDate, require_current

    db = _database()
    try:
        require_current(db)
    except SchemaOutOfDate as e:
        raise _fail(str(e)) from None
    except SQLAlchemyError as e:
        where = db.engine.url.render_as_string(hide_password=True)
        raise _fail(f"cannot use the database at {where}: {e.__class__.__name__}: {e.args[0] if e.args else e}") from None
    return db


def _policy(path: Path | None) -> Policy:
    from tutela.policy import PolicyError, default_policy_path, load_policy

    chosen = path or (Path(p) if (p := _settings().policy_path) else default_policy_path())
    try:
        return load_policy(chosen)
    except PolicyError as e:
        raise _fail(str(e)) from None


# ---- serve ----------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [TUTELA_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [TUTELA_PORT]")] = None,
    workers: Annotated[int, typer.Option(help="Processes; keep 1 with SQLite")] = 1,
) -> None:
    """Start the API server."""
    import uvicorn

    from tutela import logs
    from tutela.api import create_app
    from tutela.policy import PolicyError
    from tutela.store.migrate import SchemaOutOfDate

    settings = _settings()
    logs.configure(settings.log_level, settings.log_json)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise _fail("SQLite serves one process: use --workers 1, or PostgreSQL via TUTELA_DATABASE_URL")
    _migrated_database()  # fail here, readably, rather than inside a worker
    try:
        create_app(settings)
    except (SchemaOutOfDate, PolicyError) as e:
        raise _fail(str(e)) from None
    uvicorn.run(
        "tutela.api:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=settings.access_log,
        log_config=None,
        loop="uvloop",
        http="httptools",
    )


# ---- db -------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks (safe to run again)."""
    from tutela.store.migrate import current_revision, upgrade

    db = _database()
    try:
        upgrade(db)
    except Exception as e:
        raise _fail(f"could not migrate {db.engine.url.render_as_string(hide_password=True)}: {e}") from None
    out.print(f"database {db.engine.url.render_as_string(hide_password=True)} is at revision {current_revision(db.engine)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the one this code needs."""
    from tutela.store.migrate import current_revision, head_revision

    db = _database()
    out.print(f"database: {current_revision(db.engine) or '(empty)'}; code needs: {head_revision()}")


# ---- keys -----------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. playlists-prod")],
    scope: Annotated[list[str], typer.Option(help="platform, moderator or admin; repeat for several")],
) -> None:
    """Create an API key and print it. It is shown once and stored only as a hash."""
    from tutela.api.auth import Scope, create_key

    try:
        scopes = [Scope(s) for s in scope]
    except ValueError:
        raise _fail(f"scopes must be among {', '.join(s.value for s in Scope)}; got {', '.join(scope)}") from None
    import getpass

    key = create_key(_migrated_database(), name, scopes, actor=f"cli:{getpass.getuser()}")
    err.print(f"created key for {name!r} with scopes {', '.join(scope)}; store it now, it is not shown again:")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (prefix, name, scopes; never the secret)."""
    from tutela.store import repo

    with _migrated_database().read() as conn:
        keys = repo.list_keys(conn)
    table = Table("prefix", "name", "scopes", "created", "revoked")
    for k in keys:
        table.add_row(
            k.prefix,
            k.name,
            ", ".join(k.scopes),
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (the part after tut_)."""
    from tutela.store import repo

    with _migrated_database().write() as conn:
        if not repo.revoke_key(conn, prefix, dt.datetime.now(dt.UTC)):
            raise _fail(f"no active key with prefix {prefix!r}; see `tutela keys list`")
        _audit(conn, "key.revoked", f"key:{prefix}", {})
    out.print(f"revoked {prefix}")


# ---- policy ---------------------------------------------------------------------------------


@policy_app.command("check")
def policy_check(file: Path) -> None:
    """Validate a policy file and list its rules."""
    policy = _policy(file)
    table = Table("line", "rule", "verdict", "category", "severity", "followups", "shadow", title=policy.version)
    for r in policy.rules:
        table.add_row(
            str(r.line),
            r.id,
            r.verdict.value,
            r.category.value,
            r.severity.value,
            ", ".join(f.value for f in r.followups),
            "yes" if r.shadow else "",
        )
    out.print(table)
    out.print(f"[green]{file}: {len(policy.rules)} rules, valid[/]")


@policy_app.command("test")
def policy_test(
    file: Path,
    policy: Annotated[Path | None, typer.Option(help="Policy to test (default: TUTELA_POLICY or the packaged one)")] = None,
) -> None:
    """Run a file of example changes and their expected verdicts against a policy."""
    from tutela.policy.testing import TestFileError, load_test_file, run_cases

    loaded = _policy(policy)
    try:
        world, cases = load_test_file(file)
        results = run_cases(loaded, world, cases)
    except TestFileError as e:
        raise _fail(str(e)) from None
    table = Table("", "case", "verdict", "rules fired", "problem", title=f"{file} against {loaded.version}")
    for r in results:
        table.add_row(
            "[green]pass[/]" if r.passed else "[red]FAIL[/]", r.name, r.verdict, ", ".join(r.rules), "; ".join(r.failures)
        )
    out.print(table)
    failed = sum(not r.passed for r in results)
    out.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@policy_app.command("inputs")
def policy_inputs() -> None:
    """Print the inputs a rule can read, as a Markdown table."""
    from tutela.policy.inputs import reference_markdown

    sys.stdout.write(reference_markdown())


@policy_app.command("replay")
def policy_replay(file: Path, limit: Annotated[int, typer.Option(help="How many recent decisions")] = 10_000) -> None:
    """Evaluate recent stored decisions against another policy and show what would change."""
    from collections import Counter

    from tutela.store import repo

    policy = _policy(file)
    with _migrated_database().read() as conn:
        rows = repo.iter_decision_inputs(conn, limit)
    moves: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    errors: Counter[str] = Counter()
    for row in rows:
        evaluation = policy.evaluate(row.inputs)
        new = evaluation.verdict.value
        moves[(row.verdict, new)] += 1
        examples.setdefault((row.verdict, new), row.id)
        errors.update(e.rule for e in evaluation.errors)
    table = Table("stored verdict", "under " + policy.version, "decisions", "example", title=f"replay of {len(rows)} decisions")
    for (old, new), n in sorted(moves.items(), key=lambda kv: -kv[1]):
        style = "" if old == new else "bold yellow"
        table.add_row(old, new, str(n), examples[(old, new)], style=style)
    out.print(table)
    for rule, n in errors.most_common():
        err.print(f"[red]rule {rule} failed to evaluate on {n} decision(s)[/]: it counts as not fired there")


# ---- check ----------------------------------------------------------------------------------


@app.command("check")
def check_one(
    actor: Annotated[str, typer.Option(help="Account making the change")],
    obj: Annotated[str, typer.Option("--object", help="Content object changed")],
    field: Annotated[str, typer.Option(help="Field changed, e.g. title")],
    text: Annotated[str | None, typer.Option(help="Proposed text")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tagged account; repeat for several")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy file (default: TUTELA_POLICY or packaged)")] = None,
) -> None:
    """Evaluate one change against the store's accounts and objects, and explain the decision.
    Nothing is written."""
    from tutela.check import InvalidChange, UnknownObject, evaluate_change
    from tutela.contact import UnknownAccount
    from tutela.detection import default_detectors
    from tutela.model import Change
    from tutela.store import repo

    loaded = _policy(policy)
    db = _migrated_database()
    change = Change("cli-check", actor, obj, field, text, tuple(tag or ()))
    with db.read() as conn:
        try:
            outcome = evaluate_change(repo.StoreWorld(conn), change, loaded, default_detectors(), dt.datetime.now(dt.UTC))
        except (UnknownObject, UnknownAccount, InvalidChange) as e:
            raise _fail(str(e)) from None
    print_outcome(outcome)


def print_outcome(outcome: Outcome) -> None:
    ev = outcome.evaluation
    colour = {"allow": "green", "allow_with_warning": "yellow", "hold": "magenta", "block": "red"}[ev.verdict.value]
    out.print(f"verdict: [bold {colour}]{ev.verdict.value}[/]   policy: {outcome.policy_version}")
    parties = Table("role", "account", "age band", "basis", "protected", "connected to actor", "connections", title="parties")
    for role, p in [
        ("actor", outcome.parties.actor),
        ("owner", outcome.parties.owner),
        *(("tagged", t) for t in outcome.parties.tagged),
    ]:
        a = p.account.age
        parties.add_row(
            role,
            p.id,
            a.band.value,
            a.basis.value,
            str(p.protected),
            str(p.connected_to_actor),
            ", ".join(sorted(p.connection_kinds)),
        )
    out.print(parties)
    signals = Table("label", "score", "subject", "evidence", title="signals")
    for s in outcome.signals:
        signals.add_row(s.label, f"{s.score:.2f}", s.subject, str(s.evidence))
    out.print(signals)
    rules = Table("rule", "verdict", "category", "severity", "message", "shadow", title="rules fired")
    for h in (*ev.hits, *ev.shadow_hits):
        rules.add_row(h.rule, h.verdict.value, h.category.value, h.severity.value, h.message, "yes" if h.shadow else "")
    out.print(rules)
    for e in ev.errors:
        err.print(f"[red]rule {e.rule} failed to evaluate:[/] {e.error}")


# ---- text -----------------------------------------------------------------------------------


@text_app.command("explain")
def text_explain(text: str) -> None:
    """Show the normalised forms of TEXT, the signals the text detector emits, and which of
    the characters typed each signal rests on."""
    from rich.markup import escape

    from tutela.text import normalise
    from tutela.text.detector import TextDetector

    normalised = normalise(text)
    forms = Table("form", "text", title="normalised forms" + (" (cut at 20,000 characters)" if normalised.truncated else ""))
    for form in normalised.forms:
        forms.add_row(form.name, escape(repr(form.text)))
    out.print(forms)
    detector = TextDetector()
    signals = Table("label", "category", "score", "typed", "details", title="signals")
    for s in detector.signals_for(text):
        spans = s.evidence.get("spans", [])
        typed = ", ".join(repr(text[a:b]) for a, b in spans) if spans else ""
        details = {k: v for k, v in s.evidence.items() if k not in ("spans",)}
        signals.add_row(s.label, s.category.value, f"{s.score:.2f}", escape(typed), escape(str(details)))
    out.print(signals)
    clf = detector.classifier
    scored = clf.score(normalised)
    if scored.stage == "short":
        out.print("classifier: a single word is left to the lexicon; the classifier did not run")
    elif scored.stage == "gate" and clf.gate is not None:
        out.print(
            f"classifier: screened out by the gate ({scored.probability:.4f} < {clf.gate.threshold:.4f}); the transformer did not run"
        )
    else:
        out.print(f"classifier: {scored.probability:.4f} ({scored.category}), flags at {clf.threshold:.4f}")


# ---- hash banks and images ------------------------------------------------------------------


@banks_app.command("create")
def banks_create(
    name: str,
    kind: Annotated[str, typer.Option(help="blocklist (refuse matches) or allowlist (known fine; wins over block-lists)")],
    label: Annotated[list[str] | None, typer.Option(help="e.g. csam, ncii, terror, own-takedowns; repeat for several")] = None,
    description: Annotated[str, typer.Option(help="Where the list comes from, who maintains it")] = "",
) -> None:
    """Create an empty hash bank."""
    from tutela.hashbank.banks import BankError, create_bank

    try:
        with _migrated_database().write() as conn:
            bank = create_bank(conn, name, kind, label or [], description, dt.datetime.now(dt.UTC))
            _audit(conn, "bank.created", f"bank:{name}", {"kind": kind, "labels": label or []})
    except BankError as e:
        raise _fail(str(e)) from None
    out.print(f"created {bank.kind} bank {bank.name!r} (labels: {', '.join(bank.labels) or 'none'})")


@banks_app.command("import")
def banks_import(
    name: str,
    file: Path,
    fmt: Annotated[
        str, typer.Option("--format", help="hashes, tx-file, csv, te-simple, te-json or jsonl (see docs/hashbanks.md)")
    ] = "csv",
    signal_type: Annotated[str | None, typer.Option(help="for one-hash-per-line files: pdq, md5 or sha256")] = None,
    source: Annotated[str, typer.Option(help="recorded on every entry, e.g. the list's name and date")] = "",
) -> None:
    """Load a hash list into a bank (threatexchange / Hasher-Matcher-Actioner forms)."""
    from tutela.hashbank.banks import BankError, add_entries, require_bank
    from tutela.hashbank.formats import FormatError, read_entries

    try:
        parsed = list(read_entries(file, fmt, signal_type=signal_type, source=source or file.name))
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(f"cannot read {file}: {e}") from None
    except (FormatError, ValueError) as e:
        raise _fail(f"{file}: {e}; nothing was imported") from None
    try:
        with _migrated_database().write() as conn:
            added, skipped = add_entries(conn, require_bank(conn, name), parsed, dt.datetime.now(dt.UTC))
            _audit(conn, "bank.imported", f"bank:{name}", {"file": str(file), "format": fmt, "added": added, "skipped": skipped})
    except BankError as e:
        raise _fail(str(e)) from None
    out.print(f"{name}: {added} entries added, {skipped} already there")


@banks_app.command("export")
def banks_export(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="hashes, tx-file, csv, te-simple, te-json or jsonl")] = "csv",
) -> None:
    """Print a bank's live entries in a threatexchange / HMA form."""
    from tutela.hashbank.banks import BankError, entries, require_bank
    from tutela.hashbank.formats import BankEntry, FormatError, write_entries

    try:
        with _migrated_database().read() as conn:
            bank = require_bank(conn, name)
            rows = entries(conn, bank)
        text = write_entries(
            [BankEntry(r.signal_type, r.value, frozenset({*bank.labels, *r.labels}), r.source, dict(r.metadata)) for r in rows],
            fmt,
        )
    except BankError as e:
        raise _fail(str(e)) from None
    except (FormatError, ValueError) as e:
        raise _fail(f"bank {name!r} cannot be written as {fmt}: {e}; try --format jsonl, which holds everything") from None
    sys.stdout.write(text)


@banks_app.command("stats")
def banks_stats() -> None:
    """Every bank: kind, labels, whether enabled, and its entries by hash type."""
    from tutela.hashbank.banks import stats

    with _migrated_database().read() as conn:
        rows = stats(conn)
    table = Table("bank", "kind", "labels", "enabled", "entries", "updated")
    for r in rows:
        entries = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["entries"].items())) or "empty"
        table.add_row(
            r["name"], r["kind"], ", ".join(r["labels"]), "yes" if r["enabled"] else "no", entries, r["updated_at"][:19]
        )
    out.print(table)


@banks_app.command("enable")
def banks_enable(name: str) -> None:
    """Match against this bank again."""
    _set_bank_enabled(name, True)


@banks_app.command("disable")
def banks_disable(name: str) -> None:
    """Stop matching against this bank (its entries stay)."""
    _set_bank_enabled(name, False)


def _set_bank_enabled(name: str, enabled: bool) -> None:
    from tutela.hashbank.banks import BankError, set_enabled

    try:
        with _migrated_database().write() as conn:
            set_enabled(conn, name, enabled, dt.datetime.now(dt.UTC))
            _audit(conn, "bank.enabled" if enabled else "bank.disabled", f"bank:{name}", {})
    except BankError as e:
        raise _fail(str(e)) from None
    out.print(f"{name}: {'enabled' if enabled else 'disabled'}")


@banks_app.command("remove")
def banks_remove(
    name: str,
    value: Annotated[list[str], typer.Argument(help="hashes to remove")],
    signal_type: Annotated[str, typer.Option(help="pdq, md5 or sha256")] = "pdq",
) -> None:
    """Remove entries from a bank (kept as tombstones, so past decisions still show them)."""
    from tutela.hashbank.banks import BankError, remove_entries, require_bank

    try:
        with _migrated_database().write() as conn:
            n = remove_entries(conn, require_bank(conn, name), signal_type, value, dt.datetime.now(dt.UTC))
            _audit(conn, "bank.entries_removed", f"bank:{name}", {"signal_type": signal_type, "removed": n})
    except BankError as e:
        raise _fail(str(e)) from None
    out.print(f"{name}: {n} entries removed")


@app.command("hash")
def hash_files(files: Annotated[list[Path], typer.Argument(help="image files")]) -> None:
    """Print the MD5, SHA-256 and PDQ (with quality) of image files, one line each, tab-separated."""
    from tutela.image import ImageRejected, analyse

    failed = 0
    for f in files:
        try:
            h = analyse(f.read_bytes(), dihedral=False).hashes
        except OSError as e:
            err.print(f"{f}: cannot read: {e}")
            failed += 1
            continue
        except ImageRejected as e:
            err.print(f"{f}: {e.detail}")
            failed += 1
            continue
        print(f"{f}\tmd5={h.md5}\tsha256={h.sha256}\tpdq={h.pdq}\tquality={h.pdq_quality}")
    if failed:
        raise typer.Exit(1)


@app.command("scan")
def scan(
    folder: Path,
    show: Annotated[int, typer.Option(help="how many matches to list")] = 50,
) -> None:
    """Hash every image under FOLDER and match it against the enabled banks; print a summary."""
    from rich.progress import Progress

    from tutela.hashbank.matcher import BankMatcher
    from tutela.image import ImageRejected, analyse

    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    matcher = BankMatcher()
    with _migrated_database().read() as conn:
        matcher.refresh(conn)
    matches: list[tuple[Path, str]] = []
    refused: list[tuple[Path, str]] = []
    low_quality = 0
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"scanning {len(files)} files", total=len(files))
        for f in files:
            progress.advance(task)
            try:
                analysed = analyse(f.read_bytes())
            except (OSError, ImageRejected) as e:
                refused.append((f, e.detail if isinstance(e, ImageRejected) else str(e)))
                continue
            facts = analysed.facts()
            low_quality += facts.pdq_quality < 50
            for m in matcher.match(facts):
                matches.append(
                    (
                        f,
                        f"{m.entry.bank} ({m.entry.kind}, {', '.join(m.entry.labels)}) entry {m.entry.id}, {m.signal_type} distance {m.distance}",
                    )
                )
    table = Table("file", "matched", title=f"{len(matches)} matches")
    for f, what in matches[:show]:
        table.add_row(str(f), what)
    if matches:
        out.print(table)
    out.print(
        f"{len(files)} files: {len(files) - len(refused)} images hashed against {len(matcher):,} bank entries, "
        f"{len({f for f, _ in matches})} matched, {len(refused)} not images or refused, {low_quality} too featureless for PDQ (quality < 50)"
    )
    for f, why in refused[:10]:
        err.print(f"  {f}: {why}")


# ---- background work, webhooks, audit ------------------------------------------------------


@app.command("worker")
def worker_cmd(
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics (webhook delivery) on this port")] = None,
) -> None:
    """Deliver webhooks and escalate overdue cases, without serving the API (run API replicas
    with TUTELA_WORKERS=false and as many of these as needed)."""
    import signal
    import threading

    from tutela import logs
    from tutela.actions.worker import Worker

    settings = _settings()
    logs.configure(settings.log_level, settings.log_json)
    worker = Worker(_migrated_database(), settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host)
        err.print(f"tutela worker: metrics on http://{settings.host}:{metrics_port}/metrics")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err.print(f"tutela worker: delivering to {settings.webhook_url or '(no TUTELA_WEBHOOK_URL: queueing only)'}")
    worker.run(stop)


@webhooks_app.command("status")
def webhooks_status() -> None:
    """How many webhooks are pending, delivered and dead."""
    from tutela.actions import outbox

    with _migrated_database().read() as conn:
        counts = outbox.counts(conn)
    for status in ("pending", "delivered", "dead"):
        out.print(f"{status}: {counts.get(status, 0):,}")


@webhooks_app.command("dead")
def webhooks_dead(limit: Annotated[int, typer.Option(help="How many to list")] = 100) -> None:
    """Dead-lettered webhooks: retried max attempts times without a 2xx answer."""
    from tutela.actions import outbox

    with _migrated_database().read() as conn:
        rows = outbox.listing(conn, "dead", limit)
    table = Table("delivery id", "event", "key", "attempts", "created", "last error")
    for r in rows:
        table.add_row(
            r["delivery_id"],
            r["event"],
            r["key"],
            str(r["attempts"]),
            r["created_at"].isoformat(timespec="seconds"),
            r["last_error"] or "",
        )
    out.print(table)
    if not rows:
        out.print("no dead webhooks")


@webhooks_app.command("redeliver")
def webhooks_redeliver(
    delivery_id: Annotated[list[str] | None, typer.Argument(help="delivery ids (whd_...); none with --all-dead")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="every dead webhook")] = False,
) -> None:
    """Put dead webhooks back in the queue; they are sent again with the same delivery id."""
    from tutela.actions import outbox

    if not delivery_id and not all_dead:
        raise _fail("name delivery ids (see `tutela webhooks dead`) or pass --all-dead")
    with _migrated_database().write() as conn:
        n = outbox.redeliver(conn, None if all_dead else delivery_id, dt.datetime.now(dt.UTC))
        _audit(conn, "webhooks.redelivered", "webhooks", {"count": n, "ids": delivery_id or "all dead"})
    out.print(f"{n} webhook(s) queued again")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain from the first entry; exit 1 at the first broken link."""
    from tutela import audit

    with _migrated_database().read() as conn:
        result = audit.verify(conn)
    if not result.ok:
        raise _fail(
            f"the audit log is broken at entry {result.broken_at}: {result.problem}. Entries before it "
            f"({result.entries - 1}) verify; restore the log from a backup and compare"
        )
    out.print(f"audit log ok: {result.entries:,} entries, head {result.head}")


@audit_app.command("show")
def audit_show(
    after: Annotated[int, typer.Option(help="Entries after this sequence number")] = 0,
    limit: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """Print audit entries in order."""
    import json

    from tutela import audit

    with _migrated_database().read() as conn:
        for e in audit.entries(conn, after, limit):
            print(
                json.dumps(
                    {k: e[k] for k in ("seq", "at", "actor", "action", "subject", "data", "hash")},
                    default=str,
                    ensure_ascii=False,
                )
            )


@app.command("settings")
def settings_cmd() -> None:
    """List every TUTELA_ environment variable and its default."""
    table = Table("variable", "default", "meaning")
    for row in SETTINGS_DOC:
        table.add_row(*row)
    out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
