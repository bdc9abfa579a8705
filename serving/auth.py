"""Authentication: who is asking, from a bearer token (API) or the web page's login cookie.

Both carry the same token and resolve to the same Grant, so the API and the web page share
one set of scoping and audit dependencies. The cookie is HttpOnly and SameSite=Strict: a
script cannot read it and no other site can make the browser send it, so accepting it on
these read-only endpoints opens no cross-site request forgery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from continuity.access import AccessStore, Grant, Role

COOKIE = "continuity_token"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `continuity token create --role ROLE`; roles: hr (one organisation), "
    "manager (its teams), sector (aggregates only), admin.",
)


class NotAuthenticated(HTTPException):
    """401 with the challenge a client needs; the web page turns it into the login form."""

    def __init__(self, detail: str):
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_access(request: Request) -> AccessStore:
    return request.app.state.access


AccessDep = Annotated[AccessStore, Depends(get_access)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Grant:
    """Checked against the token table on every request, so a revocation holds from the next one."""
    token = credentials.credentials if credentials else request.cookies.get(COOKIE)
    if not token:
        raise NotAuthenticated("a bearer token is required: send 'Authorization: Bearer <token>'")
    grant = request.app.state.access.authenticate(token)
    if grant is None:
        raise NotAuthenticated("the token is unknown or revoked")
    return grant


def grant_requiring(check: Callable[[Grant], None]) -> Callable[..., Awaitable[Grant]]:
    """A dependency that authenticates and then applies ``check`` (which raises when the role may not).

    One dependency rather than a role check depending on an authentication dependency: FastAPI
    solves a dependency's whole subtree again for every dependency that names it, at tens of µs
    a node; solving dependencies was the largest single cost of a request (a third of its time)."""

    async def dependency(request: Request, credentials: Credentials) -> Grant:
        grant = authenticate(request, credentials)
        check(grant)
        return grant

    return dependency


def _individual_reader(grant: Grant) -> None:
    """Every role but sector may read individual workers, each within its scope."""
    if not grant.sees_individuals:
        raise HTTPException(403, f"a {grant.role.value} token sees aggregates only, never an individual worker")


def _admin(grant: Grant) -> None:
    if grant.role is not Role.admin:
        raise HTTPException(403, f"only an admin token may read this; yours is {grant.role.value} ({grant.scope})")


ReaderDep = Annotated[Grant, Depends(grant_requiring(_individual_reader))]
AdminDep = Annotated[Grant, Depends(grant_requiring(_admin))]
