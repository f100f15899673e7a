"""Errors as RFC 9457 problem details: status, title, detail and field paths, never a traceback.

Every error the API returns goes through here, so clients (and the wizard's inline messages)
read one shape. :func:`problem_responses` documents that shape in the OpenAPI schema for the
statuses a route can return, which is what the schemathesis run checks responses against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("lakesmith.app")


class FieldIssue(BaseModel):
    """One invalid value: where (a dotted path such as ``campaigns.response_rates``) and why."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="dotted path of the field; empty for the whole body")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="forbid")

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldIssue] = Field(default_factory=list, description="field-level issues")


class ProblemError(Exception):
    """Raised anywhere in a request; becomes a problem response with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        title: str | None = None,
        errors: Sequence[FieldIssue] = (),
    ) -> None:
        super().__init__(detail)
        self.problem = Problem(
            title=title or HTTPStatus(status).phrase,
            status=status,
            detail=detail,
            errors=list(errors),
        )


def issues_from(errors: Iterable[ErrorDetails], *, skip: int = 0) -> list[FieldIssue]:
    """Pydantic errors as field issues; ``skip`` drops leading location parts (``body``)."""
    out = []
    for err in errors:
        path = ".".join(str(part) for part in err["loc"][skip:])
        out.append(FieldIssue(path=path, message=clean_message(err["msg"])))
    return out


def clean_message(msg: str) -> str:
    """Pydantic prefixes custom validator messages with 'Value error, '; users need the rest."""
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_problem(exc: ValidationError, *, detail: str = "") -> ProblemError:
    issues = issues_from(exc.errors(include_url=False, include_input=False))
    return ProblemError(422, detail or f"{len(issues)} invalid value(s)", errors=issues)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses a route can return."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in sorted({*statuses, 400, 413, 422, 500})
    }


def _response(problem: Problem) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(
        problem.model_dump(mode="json"), status_code=problem.status, media_type=PROBLEM_JSON
    )


def install(app: FastAPI) -> None:
    """Route every error of ``app`` to a problem response."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return _response(exc.problem)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        issues = [
            FieldIssue(
                path=".".join(
                    str(p) for p in err["loc"][1 if err["loc"][:1] == ("body",) else 0 :]
                ),
                message=clean_message(str(err.get("msg", ""))),
            )
            for err in exc.errors()
        ]
        return _response(
            Problem(
                title="Unprocessable Content",
                status=422,
                detail=f"{len(issues)} invalid value(s) in the request",
                errors=issues,
            )
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        title = HTTPStatus(exc.status_code).phrase
        return _response(Problem(title=title, status=exc.status_code, detail=detail))

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _response(
            Problem(
                title="Internal Server Error",
                status=500,
                detail="the server failed while handling the request; the server log has the cause",
            )
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


class BodyLimit:
    """ASGI middleware: refuse request bodies above ``max_bytes`` with 413, before parsing.

    A declared ``Content-Length`` is refused at once; a chunked body is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = Problem(
            title="Content Too Large",
            status=413,
            detail=f"request bodies are limited to {self.max_bytes} bytes",
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _response(too_big)(scope, receive, send)
                return
        seen = 0
        from starlette.exceptions import HTTPException

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # FastAPI re-raises HTTPException from body reads
                    raise HTTPException(413, too_big.detail)
            return message

        await self.app(scope, counted, send)
