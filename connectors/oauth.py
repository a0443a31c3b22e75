"""OAuth 2 password grant (RFC 6749 4.3), as ServiceNow's /oauth_token.do offers it.

The token request goes through the source's own session, so it gets the shared HTTP
policy: timeouts, the retry loop (a POST is retried only when the server surely did
nothing: 429, 503, connection refused), the concurrency limit and the redacted request
log, which names `METHOD /path` and never a body or a header.

Why not pysnow's `OAuthClient` / requests-oauthlib: the token request there runs on a
session of its own, outside the policy, and requests-oauthlib logs the request body
(client secret and password) and the token at DEBUG. Here the secrets only ever travel
in the form body, and errors name the request, never a credential.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests

from bridge.errors import SourceError, TransientError
from bridge.logs import redact
from connectors.base import OAuth2Auth
from connectors.http import failure_from_exception, failure_from_response

#: Ask for a new token this long before the current one expires.
REFRESH_MARGIN = 60.0
#: ServiceNow's default access token lifespan, when a response does not say.
DEFAULT_LIFESPAN = 1800.0


class PasswordGrant:
    """A bearer token for one source, fetched on first use and again before it expires."""

    def __init__(
        self, source: str, session: requests.Session, token_url: str, auth: OAuth2Auth
    ) -> None:
        self.source = source
        self.session = session
        self.token_url = token_url
        self.auth = auth
        self.request = "POST " + (urlsplit(token_url).path or "/")
        self._token: str | None = None
        self._expires = 0.0

    def bearer(self) -> str:
        """A valid access token, fetching a new one when none is held or it is about to
        expire (a fresh password grant: refresh tokens may be disabled per instance)."""
        if self._token is None or time.monotonic() >= self._expires - REFRESH_MARGIN:
            self._token, lifespan = self._fetch()
            self._expires = time.monotonic() + lifespan
        return self._token

    def authorize(self) -> None:
        """Put a valid bearer token on the session."""
        self.session.headers["Authorization"] = f"Bearer {self.bearer()}"

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "password",
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret.get_secret_value(),
            "username": self.auth.username,
            "password": self.auth.password.get_secret_value(),
        }
        try:
            response = self.session.post(
                self.token_url,
                data=form,
                # no stale bearer token on the token request itself
                headers={"Accept": "application/json", "Authorization": None},
            )
        except requests.RequestException as exc:
            raise failure_from_exception(self.source, exc, self.request) from None
        if response.status_code in (400, 401):
            raise SourceError(
                self.source,
                "authentication failed: the OAuth token request was refused "
                "(check client id/secret, username and password)",
                request=self.request,
            )
        if not response.ok:
            raise failure_from_response(self.source, response, None, self.request)
        try:
            body: Any = response.json()
            token = body["access_token"]
            lifespan = float(body.get("expires_in") or DEFAULT_LIFESPAN)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise TransientError(
                f"malformed token response ({self.request})", source=self.source
            ) from None
        if not isinstance(token, str) or not token:
            raise TransientError(
                f"no access token in the response ({self.request})", source=self.source
            )
        # a token is a secret like the password: a server that echoes it (in an error, a
        # URL) must not put it in a log line, an error message or the runs table
        redact.received(token)
        refresh = body.get("refresh_token") if isinstance(body, dict) else None
        if isinstance(refresh, str):
            redact.received(refresh)
        return token, lifespan
