"""What every answer needs, whatever route it takes: a bounded request body and the security headers.

Raw ASGI rather than Starlette's BaseHTTPMiddleware: that one runs every request in a task of its
own and copies the answer through a stream, a cost each of the 500 requests a second would pay;
these look only at the headers going in and the start of the answer going out.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """413. Raised while a body is read, FastAPI lets it through to the app's error answers
    (any other error there becomes a 400 'error parsing the body')."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit} bytes, the most this service accepts")


def _content_length(scope: Scope) -> int | None:
    """The declared length; None for a chunked body (the server has already refused a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value)
    return None


class BodyLimit:
    """413 for a body over ``max_bytes``, before it is read.

    FastAPI reads a body whole before it authenticates the caller, so without a limit anyone can
    make the server hold any amount of memory. A declared length over the limit is answered at
    once, without reading a byte; a chunked body is counted as it is read and refused as soon as
    it passes the limit (a body with a declared length the server holds to that length)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                refusal = BodyTooLarge(self.max_bytes)
                await JSONResponse({"detail": refusal.detail}, refusal.status_code)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


# No inline script or style anywhere (the page has none; the docs' start-up script is a static
# file), no framing (clickjacking), forms only back to this site.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    # Not no-referrer: with it a browser sends 'Origin: null' on a same-site form, and the
    # forms' CSRF check (auth.check_same_origin) could no longer tell them from a foreign one.
    (b"referrer-policy", b"same-origin"),
]
_NO_STORE = [*_COMMON, (b"cache-control", b"no-store")]


class SecurityHeaders:
    """The security headers on every answer, and ``Cache-Control: no-store`` on every answer but the
    static files: nearly every answer names individual workers, and a shared or back-button cache
    must not keep one."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _COMMON if scope["path"].startswith("/static/") else _NO_STORE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
