"""Authentication: who is asking, from a bearer token (API) or the web page's login cookie.

Both carry the same token and resolve to the same Grant, so the API and the web page share
one set of scoping and audit dependencies. The cookie is HttpOnly and SameSite=Strict: a
script cannot read it and no other site can make the browser send it, so accepting it on
these read-only endpoints opens no cross-site request forgery.
"""

from __future__ import annotations

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


async def get_grant(
    request: Request, access: AccessDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Grant:
    token = credentials.credentials if credentials else request.cookies.get(COOKIE)
    if not token:
        raise NotAuthenticated("a bearer token is required: send 'Authorization: Bearer <token>'")
    grant = access.authenticate(token)
    if grant is None:
        raise NotAuthenticated("the token is unknown or revoked")
    return grant


GrantDep = Annotated[Grant, Depends(get_grant)]


async def require_individual_reader(grant: GrantDep) -> Grant:
    """Every role but sector may read individual workers, each within its scope."""
    if not grant.sees_individuals:
        raise HTTPException(403, f"a {grant.role.value} token sees aggregates only, never an individual worker")
    return grant


ReaderDep = Annotated[Grant, Depends(require_individual_reader)]


async def require_admin(grant: GrantDep) -> Grant:
    if grant.role is not Role.admin:
        raise HTTPException(403, f"only an admin token may read this; yours is {grant.role.value} ({grant.scope})")
    return grant


AdminDep = Annotated[Grant, Depends(require_admin)]
