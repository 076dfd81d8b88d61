"""Accounts and the connections between them, as the platform mirrors them to Tutela."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from tutela.api.auth import Principal, Scope, require
from tutela.api.deps import Services, blocking, services, utcnow
from tutela.api.problems import ProblemError
from tutela.api.schemas import ID_PATTERN, AccountIn, AccountOut, AgeOut, ConnectionOut, ConnectionsOut
from tutela.cases import workflow
from tutela.model import Account, AgeState, Connection, ConnectionKind
from tutela.store import repo

router = APIRouter(tags=["accounts"])
AccountId = Annotated[str, Path(pattern=ID_PATTERN, description="The platform's account id")]
Platform = Annotated[Principal, Depends(require(Scope.PLATFORM))]
Reader = Annotated[Principal, Depends(require(Scope.PLATFORM, Scope.MODERATOR))]
Svc = Annotated[Services, Depends(services)]


def unknown_account(account_id: str) -> ProblemError:
    return ProblemError(
        404,
        "unknown-account",
        "Unknown account",
        f"account {account_id!r} is not known; create it with PUT /v1/accounts/{account_id}",
    )


def _out(svc: Services, account_id: str) -> AccountOut:
    with svc.db.read() as conn:
        account = repo.get_account(conn, account_id)
        stamps = repo.account_timestamps(conn, account_id)
    if account is None or stamps is None:
        raise unknown_account(account_id)
    age = account.age.current(utcnow().date())  # a birth date moves the band on birthdays
    return AccountOut(
        id=account.id,
        age=AgeOut(
            band=age.band,
            basis=age.basis,
            confidence=age.confidence,
            source=age.source,
            set_at=age.set_at,
            birth_date=age.birth_date,
        ),
        created_at=stamps[0],
        updated_at=stamps[1],
    )


@router.put("/accounts/{account_id}", response_model=AccountOut, summary="Create or update an account's age state")
@blocking
def put_account(account_id: AccountId, body: AccountIn, response: Response, svc: Svc, _: Platform) -> AccountOut:
    now = utcnow()
    assert body.age.band is not None  # filled in by AgeIn's validator
    age = AgeState(body.age.band, body.age.basis, body.age.confidence, body.age.source, now, body.age.birth_date)
    flags: list[dict[str, Any]] = []
    with svc.db.write() as conn:
        created = repo.upsert_account(conn, Account(account_id, age), now)
        if body.identifiers is not None:
            ids = {"email_sha256": body.identifiers.email_sha256, "device_id": body.identifiers.device_ids}
            flags = workflow.record_identifiers(conn, account_id, ids, svc.policy.casework, now)
    response.status_code = 201 if created else 200
    if flags:
        svc.wake()
    return _out(svc, account_id).model_copy(update={"flags": flags})


@router.get("/accounts/{account_id}", response_model=AccountOut, summary="Read an account")
@blocking
def get_account(account_id: AccountId, svc: Svc, _: Reader) -> AccountOut:
    return _out(svc, account_id)


def _connection(source: str, target: str, kind: ConnectionKind) -> Connection:
    if source == target:
        raise ProblemError(422, "invalid-request", "The request is not valid", "an account cannot be connected to itself")
    return Connection(source, target, kind)


@router.put(
    "/accounts/{account_id}/connections/{other_id}/{kind}",
    response_model=ConnectionOut,
    summary="Record a connection (for follow: account_id follows other_id)",
)
@blocking
def put_connection(
    account_id: AccountId, other_id: AccountId, kind: ConnectionKind, response: Response, svc: Svc, _: Platform
) -> ConnectionOut:
    link = _connection(account_id, other_id, kind)
    with svc.db.write() as conn:
        missing = repo.missing_accounts(conn, [account_id, other_id])
        if missing:
            raise unknown_account(missing[0])
        created = repo.put_connection(conn, link, utcnow())
    response.status_code = 201 if created else 200
    return ConnectionOut(source=account_id, target=other_id, kind=kind, mutual=kind.mutual)


@router.delete(
    "/accounts/{account_id}/connections/{other_id}/{kind}", status_code=204, summary="Remove a connection (unfriend, unfollow)"
)
@blocking
def delete_connection(account_id: AccountId, other_id: AccountId, kind: ConnectionKind, svc: Svc, _: Platform) -> Response:
    link = _connection(account_id, other_id, kind)
    with svc.db.write() as conn:
        if not repo.delete_connection(conn, link):
            raise ProblemError(
                404,
                "unknown-connection",
                "Unknown connection",
                f"there is no {kind.value} connection between {account_id!r} and {other_id!r}",
            )
    return Response(status_code=204)


@router.get("/accounts/{account_id}/connections", response_model=ConnectionsOut, summary="List an account's connections")
@blocking
def list_connections(account_id: AccountId, svc: Svc, _: Reader) -> ConnectionsOut:
    with svc.db.read() as conn:
        if repo.get_account(conn, account_id) is None:
            raise unknown_account(account_id)
        links = repo.connections_of(conn, account_id)
    return ConnectionsOut(
        account=account_id,
        connections=[ConnectionOut(source=c.source, target=c.target, kind=c.kind, mutual=c.kind.mutual) for c in links],
    )
