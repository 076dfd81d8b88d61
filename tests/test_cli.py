"""The `tutela` command, run as a real process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from support import env_for, tutela, uid
from tutela.check import evaluate_change
from tutela.detection import default_detectors
from tutela.model import Account, AgeBand, AgeBasis, AgeState, Change, ContentObject, ObjectKind
from tutela.policy import default_policy_path, load_policy
from tutela.store import Database, repo
from tutela.store.migrate import head_revision, upgrade

CASES = Path(__file__).parent / "policy" / "default_policy.cases.yaml"
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return env_for(f"sqlite:///{tmp_path}/cli.db")


@pytest.fixture
def seeded(env: dict[str, str]) -> dict[str, str]:
    db = Database(env["TUTELA_DATABASE_URL"])
    upgrade(db)
    with db.write() as conn:
        repo.upsert_account(conn, Account("kid", AgeState(AgeBand.CHILD, AgeBasis.DECLARED)), NOW)
        repo.upsert_account(conn, Account("stranger", AgeState(AgeBand.ADULT, AgeBasis.DECLARED)), NOW)
        repo.upsert_object(conn, ContentObject("kid-list", ObjectKind.PLAYLIST, "kid"), {}, NOW)
    db.dispose()
    return env


def test_db_upgrade_is_repeatable_and_reports_the_revision(env: dict[str, str]) -> None:
    assert f"is at revision {head_revision()}" in tutela(env, "db", "upgrade").stdout
    assert f"is at revision {head_revision()}" in tutela(env, "db", "upgrade").stdout
    assert f"database: {head_revision()}; code needs: {head_revision()}" in tutela(env, "db", "current").stdout


def test_serve_refuses_an_unmigrated_database(env: dict[str, str]) -> None:
    r = tutela(env, "serve", check=False)
    assert r.returncode == 1
    assert "run `tutela db upgrade` first" in r.stderr.replace("\n", " ")


def test_serve_refuses_several_workers_on_sqlite(env: dict[str, str]) -> None:
    r = tutela(env, "serve", "--workers", "2", check=False)
    assert r.returncode == 1 and "SQLite serves one process" in r.stderr


def test_serve_refuses_an_invalid_policy(seeded: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(default_policy_path().read_text().replace("owner.protected", "owner.protectd"))
    r = tutela({**seeded, "TUTELA_POLICY": str(broken)}, "serve", check=False)
    assert r.returncode == 1 and "owner has no field 'protectd'" in r.stderr


def test_keys_create_list_revoke(env: dict[str, str]) -> None:
    tutela(env, "db", "upgrade")
    key = tutela(env, "keys", "create", "--name", "ops", "--scope", "moderator", "--scope", "admin").stdout.strip()
    assert key.startswith("tut_") and len(key.split("_", 2)[2]) >= 40
    prefix = key.split("_")[1]
    listed = tutela(env, "keys", "list").stdout
    assert prefix in listed and "ops" in listed and key.split("_", 2)[2] not in listed
    assert "revoked" in tutela(env, "keys", "revoke", prefix).stdout
    again = tutela(env, "keys", "revoke", prefix, check=False)
    assert again.returncode == 1 and "no active key" in again.stderr
    bad = tutela(env, "keys", "create", "--name", "x", "--scope", "root", check=False)
    assert bad.returncode == 1 and "scopes must be among platform, moderator, admin" in bad.stderr


def test_policy_check_lists_rules_or_every_problem_with_its_line(tmp_path: Path, env: dict[str, str]) -> None:
    ok = tutela(env, "policy", "check", str(default_policy_path()))
    assert (
        f"{len(load_policy(default_policy_path()).rules)} rules, valid" in ok.stdout
        and "stranger-edits-protected-object" in ok.stdout.replace("\n", "")
    )
    broken = tmp_path / "typo.yaml"
    broken.write_text(
        default_policy_path().read_text().replace("severity: high", "severty: high", 1).replace("tagged.exists", "taged.exists")
    )
    r = tutela(env, "policy", "check", str(broken), check=False)
    assert r.returncode == 1
    err = " ".join(r.stderr.split())
    assert f"{broken}:" in err and "unknown key 'severty'" in err and "did you mean 'severity'?" in err
    assert "unknown name 'taged'" in err


def test_policy_test_passes_the_default_cases_and_fails_a_wrong_one(tmp_path: Path, env: dict[str, str]) -> None:
    r = tutela(env, "policy", "test", str(CASES))
    assert r.returncode == 0 and "passed, 0 failed" in r.stdout
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        CASES.read_text().replace(
            "expect: {verdict: block, rules: [stranger-edits-protected-object], followups",
            "expect: {verdict: allow, rules: [stranger-edits-protected-object], followups",
            1,
        )
    )
    r = tutela(env, "policy", "test", str(wrong), check=False)
    assert r.returncode == 1 and "1 failed" in r.stdout and "FAIL" in r.stdout


def test_policy_test_reports_a_broken_test_file(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases:\n  - change: {actor: nobody, object: nothing, field: title}\n    expect: {verdict: allow}\n")
    r = tutela(env, "policy", "test", str(bad), check=False)
    assert r.returncode == 1 and "content object 'nothing' is not known" in r.stderr


def test_policy_inputs_is_the_reference(env: dict[str, str]) -> None:
    out = tutela(env, "policy", "inputs").stdout
    assert out.startswith("| input | type | meaning |")
    for path in (
        "`actor.age.band`",
        "`owner.connected_to_actor`",
        "`tagged[].protected`",
        "`signals[].label`",
        "`change.object.kind`",
    ):
        assert path in out


def test_check_explains_a_change_without_storing_it(seeded: dict[str, str]) -> None:
    out = tutela(seeded, "check", "--actor", "stranger", "--object", "kid-list", "--field", "title", "--text", "hi").stdout
    flat = " ".join(out.split())
    assert "verdict: block" in flat and "default-child-safety@6+" in flat
    assert "contact.stranger" in flat and "stranger-edits-protected-object" in flat
    db = Database(seeded["TUTELA_DATABASE_URL"])
    with db.read() as conn:
        assert repo.iter_decision_inputs(conn, 10) == []
    unknown = tutela(seeded, "check", "--actor", "ghost", "--object", "kid-list", "--field", "title", "--text", "x", check=False)
    assert unknown.returncode == 1 and "actor account 'ghost' is not known" in unknown.stderr


def test_replay_shows_what_another_policy_would_change(seeded: dict[str, str], tmp_path: Path) -> None:
    db = Database(seeded["TUTELA_DATABASE_URL"])
    policy = load_policy(default_policy_path())
    for actor in ("stranger", "kid"):
        change = Change(uid("c"), actor, "kid-list", "title", "x")
        with db.read() as conn:
            outcome = evaluate_change(repo.StoreWorld(conn), change, policy, default_detectors(), NOW)
        with db.write() as conn:
            repo.record_decision(conn, outcome, "sha", NOW)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(default_policy_path().read_text().replace("verdict: block", "verdict: hold"))
    out = " ".join(tutela(seeded, "policy", "replay", str(lenient)).stdout.split())
    assert "replay of 2 decisions" in out
    assert "│ block │ hold │ 1 │" in out and "│ allow │ allow │ 1 │" in out


def test_settings_lists_every_variable(env: dict[str, str]) -> None:
    out = tutela(env, "settings").stdout
    for name in ("TUTELA_DATABASE_URL", "TUTELA_POLICY", "TUTELA_MAX_BODY_BYTES", "TUTELA_KEY_CACHE_SECONDS"):
        assert name in out


@pytest.mark.parametrize("args", [("keys", "list"), ("keys", "revoke", "abc"), ("policy", "replay", str(default_policy_path()))])
def test_commands_on_an_unmigrated_database_say_what_to_do(env: dict[str, str], args: tuple[str, ...]) -> None:
    r = tutela(env, *args, check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "run `tutela db upgrade` first" in " ".join(r.stderr.split())


def test_an_unreachable_database_is_one_clear_line() -> None:
    env = env_for("postgresql://nobody@127.0.0.1:1/none")
    r = tutela(env, "keys", "list", check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/none" in " ".join(r.stderr.split())


def test_policy_test_files_take_birth_dates(tmp_path: Path, env: dict[str, str]) -> None:
    f = tmp_path / "ages.yaml"
    f.write_text(
        "accounts:\n  kid: {birth_date: '2015-06-01'}\n  adult: {birth_date: 1990-01-01}\n"
        "objects:\n  l: {kind: playlist, owner: kid}\n"
        "cases:\n  - change: {actor: adult, object: l, field: title, text: hi}\n    expect: {verdict: block}\n"
    )
    assert tutela(env, "policy", "test", str(f)).returncode == 0
    f.write_text(f.read_text().replace("{birth_date: '2015-06-01'}", "{band: adult, birth_date: '2015-06-01'}"))
    r = tutela(env, "policy", "test", str(f), check=False)
    assert r.returncode == 1 and "contradicts birth_date 2015-06-01 (child)" in r.stderr


def test_the_cli_works_on_both_databases(database_url: str) -> None:
    env = env_for(database_url)
    assert f"is at revision {head_revision()}" in tutela(env, "db", "upgrade").stdout
    key = tutela(env, "keys", "create", "--name", uid("both"), "--scope", "platform").stdout.strip()
    prefix = key.split("_")[1]
    assert prefix in tutela(env, "keys", "list").stdout
    kid, stranger, pid = uid("kid"), uid("stranger"), uid("list")
    db = Database(database_url)
    with db.write() as conn:
        repo.upsert_account(conn, Account(kid, AgeState(AgeBand.CHILD, AgeBasis.DECLARED)), NOW)
        repo.upsert_account(conn, Account(stranger, AgeState(AgeBand.ADULT, AgeBasis.DECLARED)), NOW)
        repo.upsert_object(conn, ContentObject(pid, ObjectKind.PLAYLIST, kid), {}, NOW)
    db.dispose()
    out = " ".join(tutela(env, "check", "--actor", stranger, "--object", pid, "--field", "title", "--text", "hi").stdout.split())
    assert "verdict: block" in out and "stranger-edits-protected-object" in out
    assert "revoked" in tutela(env, "keys", "revoke", prefix).stdout


def test_text_explain_shows_forms_signals_and_what_was_typed(env: dict[str, str]) -> None:
    out = " ".join(tutela(env, "text", "explain", "pls s e n d  m e  a  p i c, im 12").stdout.split())
    assert "joined" in out and "'pls send me a pic, im 12'" in out
    assert "text.image_request" in out and "'s e n d m e a p i c'" in out.replace("  ", " ")
    assert "text.self_claimed_age" in out and "'age': 12" in out
    assert "classifier:" in out and "flags at" in out, "the transformer's score and threshold"
    assert "text.image_request" not in " ".join(tutela(env, "text", "explain", "Sex on Fire").stdout.split())


def test_banks_hash_and_scan_from_the_command_line(tmp_path: Path) -> None:
    """An operator's day with hash banks: hash a folder, load a list, scan, export, disable."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from image.benign_images import photo

    env = env_for(f"sqlite:///{tmp_path / 'banks.db'}")
    tutela(env, "db", "upgrade")
    folder = tmp_path / "covers"
    folder.mkdir()
    for name in ("coffee", "rocket"):
        photo(name).save(folder / f"{name}.jpg", quality=90)
    (folder / "readme.txt").write_text("not an image")
    hashed = tutela(env, "hash", str(folder / "coffee.jpg")).stdout
    pdq = dict(part.split("=", 1) for part in hashed.strip().split("\t")[1:])["pdq"]
    assert tutela(env, "hash", str(folder / "readme.txt"), check=False).returncode == 1

    tutela(env, "banks", "create", "stand-ins", "--kind", "blocklist", "--label", "csam")
    assert "already exists" in tutela(env, "banks", "create", "stand-ins", "--kind", "blocklist", check=False).stderr
    (tmp_path / "list.csv").write_text(f"pdq,{pdq}\n")
    assert "1 entries added" in tutela(env, "banks", "import", "stand-ins", str(tmp_path / "list.csv")).stdout
    assert "0 entries added, 1 already there" in tutela(env, "banks", "import", "stand-ins", str(tmp_path / "list.csv")).stdout
    (tmp_path / "bad.csv").write_text("pdq,not-a-hash\n")
    bad = tutela(env, "banks", "import", "stand-ins", str(tmp_path / "bad.csv"), check=False)
    assert bad.returncode == 1 and "nothing was imported" in bad.stderr

    scanned = tutela(env, "scan", str(folder))
    assert "coffee.jpg" in scanned.stdout and "rocket.jpg" not in scanned.stdout
    assert "3 files: 2 images hashed against 1 bank entries, 1 matched, 1 not images or refused" in " ".join(
        scanned.stdout.split()
    )
    assert pdq in tutela(env, "banks", "export", "stand-ins", "--format", "jsonl").stdout
    assert "jsonl" in tutela(env, "banks", "export", "stand-ins", "--format", "te-json", check=False).stderr

    tutela(env, "banks", "disable", "stand-ins")
    assert "0 bank entries" in " ".join(tutela(env, "scan", str(folder)).stdout.split())
    tutela(env, "banks", "enable", "stand-ins")
    assert "1 entries removed" in tutela(env, "banks", "remove", "stand-ins", pdq).stdout
    assert "pdq removed: 1" in tutela(env, "banks", "stats").stdout
