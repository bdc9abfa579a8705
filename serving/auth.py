"""Authentication: who is asking, from a bearer token (API) or the web page's session cookie.

Both resolve to the same Grant, so the API and the web page share one set of scoping and audit
dependencies. The cookie holds a session (``AccessStore.open_session``), never the token: it
expires, ends at logout and dies with its token. It is HttpOnly and SameSite=Strict, so a script
cannot read it and another site cannot make the browser send it; a state-changing request that
comes with it must also come from this site's own pages (``check_same_origin``), since a sibling
host counts as the same site for SameSite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from continuity.access import AccessStore, Grant, Role
from continuity.serving.auditing import audit_of

COOKIE = "continuity_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `continuity token create --role ROLE`; roles: hr (one organisation), "
    "manager (its teams), sector (aggregates only), admin, worker (their own record at /me only).",
)


class NotAuthenticated(HTTPException):
    """401 with the challenge a client needs; the web page turns it into the login form."""

    def __init__(self, detail: str):
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_access(request: Request) -> AccessStore:
    return request.app.state.access


AccessDep = Annotated[AccessStore, Depends(get_access)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def check_same_origin(request: Request) -> None:
    """403 for a state-changing request a browser sent from another site's page: login CSRF (logging
    the victim in as the attacker), a forced logout, a cookie-borne POST.

    A browser names the page a form was sent from in Origin (on every POST), else in Referer; a
    request with neither is refused too. Hosts are compared, not schemes, so that a proxy ending
    TLS in front of the service does not turn every form away."""
    sender = request.headers.get("origin") or request.headers.get("referer")
    if sender is None or urlsplit(sender).netloc != request.headers.get("host"):
        raise HTTPException(403, f"this form was sent from another site ({sender or 'no Origin header'}); "
                                 "open the page on this site and send it again")


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Grant:
    """Checked against the token (or session) table on every request, so a revocation or a logout
    holds from the next one."""
    access = request.app.state.access
    if credentials:
        grant = access.authenticate(credentials.credentials)
    elif session := request.cookies.get(COOKIE):
        if request.method not in SAFE_METHODS:
            check_same_origin(request)
        grant = access.session(session)
    else:
        raise NotAuthenticated("a bearer token is required: send 'Authorization: Bearer <token>'")
    if grant is None:
        raise NotAuthenticated("the token is unknown or revoked, or the login session has ended")
    return grant


def grant_requiring(check: Callable[[Grant], None], *, worker: bool = False) -> Callable[..., Awaitable[Grant]]:
    """A dependency that authenticates and then applies ``check`` (which raises when the role may not);
    a refusal goes into the audit log, as every attempt at data outside a grant does. A worker token
    is refused before any check unless ``worker`` says the route is the worker's own view: so every
    route, today's and tomorrow's, answers a worker 403 unless it was made for them.

    One dependency rather than a role check depending on an authentication dependency: FastAPI
    solves a dependency's whole subtree again for every dependency that names it, at tens of µs
    a node; solving dependencies was the largest single cost of a request (a third of its time)."""

    async def dependency(request: Request, credentials: Credentials) -> Grant:
        grant = authenticate(request, credentials)
        # for the page's navigation (``templating.render``), a refusal's page too: its way back is the reader's own
        request.state.grant = grant
        try:
            if grant.role is Role.worker and not worker:
                raise HTTPException(403, f"a worker token reads only the worker's own record, at /me and /ui/me "
                                         f"({grant.scope})")
            check(grant)
        except HTTPException as error:
            raise audit_of(request, grant).refusal(error)
        return grant

    return dependency


def _individual_reader(grant: Grant) -> None:
    """Every role but sector may read individual workers, each within its scope."""
    if not grant.sees_individuals:
        raise HTTPException(403, f"a {grant.role.value} token sees aggregates only, never an individual worker")


def _admin(grant: Grant) -> None:
    if grant.role is not Role.admin:
        raise HTTPException(403, f"only an admin token may read this; yours is {grant.role.value} ({grant.scope})")


def _worker(grant: Grant) -> None:
    if grant.role is not Role.worker:
        raise HTTPException(403, f"this is a worker's own view, for a worker token; yours is {grant.role.value} "
                                 f"({grant.scope}): read a worker at /workers/{{worker_id}}")


def _reviewer(grant: Grant) -> None:
    """Reviews are recorded by those who talk with the worker about the forecast: hr and managers."""
    if grant.role not in (Role.hr, Role.manager):
        raise HTTPException(403, f"reviews are recorded by hr and manager tokens; yours is {grant.role.value} ({grant.scope})")


ReaderDep = Annotated[Grant, Depends(grant_requiring(_individual_reader))]
AdminDep = Annotated[Grant, Depends(grant_requiring(_admin))]
WorkerDep = Annotated[Grant, Depends(grant_requiring(_worker, worker=True))]
ReviewerDep = Annotated[Grant, Depends(grant_requiring(_reviewer))]
