"""Bearer-token authentication of API requests."""

from __future__ import annotations

import re

from aiohttp import web

from gateway.api.common import ApiError
from store.auth import Caller, caller_for_token

# RFC 6750 b64token; anything else cannot be one of ours and is refused before hashing.
BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]{1,200}=*)", re.IGNORECASE)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="contactgate"'}


def unauthorized(detail: str) -> ApiError:
    """A 401 with the Bearer challenge."""
    return ApiError(401, "unauthorized", detail, CHALLENGE)


async def authenticate(request: web.Request) -> Caller:
    """The caller behind the request's bearer token; 401 when missing, malformed or not live."""
    header = request.headers.get("Authorization")
    if header is None:
        raise unauthorized("send Authorization: Bearer <token>")
    match = BEARER.fullmatch(header.strip())
    if match is None:
        raise unauthorized("the Authorization header must be Bearer <token>")
    caller = await caller_for_token(match.group(1))
    if caller is None:
        raise unauthorized("unknown or revoked token")
    return caller
