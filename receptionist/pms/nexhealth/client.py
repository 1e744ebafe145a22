"""A small async client for the NexHealth Synchronizer API (docs.nexhealth.com, v3.0.0).

One client per location, shared by every call in the process. What it guarantees:

- **The token**: the API key is exchanged (`POST /authenticates`, the key as `Authorization`) for
  a bearer token, a JWT that lapses (an hour in production); the client re-exchanges it a minute
  before its `exp`, and once more when a request answers 401 (a token revoked or lapsed early),
  then repeats that request once. A 401 from the exchange itself is the key: `Unauthorized`.
- **The version**: `Nex-Api-Version: v3.0.0` on every request.
- **429 honoured**: a rate-limited request waits the `Retry-After` seconds and is sent again,
  as NexHealth's Rate limiting page asks, but only while the wait fits a live call
  (`rate_limit_wait_seconds`); longer, `RateLimited`. A 429 was not processed, so sending a write
  again cannot duplicate it.
- **The envelope**: `{code, data, description, error, count}`; `data` is returned, a 4xx's
  `error` list becomes `Refused` (its reasons are field names and rules, no patient data),
  errors NexHealth reports on a success (a parameter it does not take) are logged as a count.
- **Paging**: `get_all` asks `page` 1, 2, ... with `per_page` until `count` rows have come.
- **TLS verified** (httpx's default, never turned off); `NEXHEALTH_BASE_URL` is https except to
  this machine (checked in the settings). **No key, token or PHI in logs**: failures are logged
  as method, route template and status (query strings hold names and birth dates).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from receptionist.domain.books import NexHealth

log = logging.getLogger(__name__)

VERSION = "v3.0.0"
PER_PAGE = 50
TOKEN_MARGIN = 60.0  # seconds before `exp` a token is exchanged again
DEFAULT_TOKEN_SECONDS = 3600.0  # the documented production lifetime, when `exp` is unreadable

Params = dict[str, str | int | list[int]]
# One NexHealth object: snake_case keys, values as the API sends them.
Row = dict[str, Any]  # Any: the API's JSON values (str, int, bool, None, nested objects)


class NexHealthError(Exception):
    """NexHealth did not do what was asked (see the subclasses for what is known)."""

    def __init__(self, route: str, status: int | None = None, detail: str = "") -> None:
        self.route, self.status, self.detail = route, status, detail
        super().__init__(f"{route}: {status or 'no answer'} {detail}".strip())


class Unauthorized(NexHealthError):
    """401 from the token exchange: the API key is wrong, revoked or not for this subdomain."""


class Forbidden(NexHealthError):
    """403: the key works but may not see this subdomain or location."""


class RateLimited(NexHealthError):
    """429, with a wait longer than a call can spend (`retry_after` seconds, when said)."""

    def __init__(self, route: str, retry_after: float | None = None) -> None:
        super().__init__(route, 429)
        self.retry_after = retry_after


class ServerError(NexHealthError):
    """5xx: NexHealth failed; a write may have happened."""


class Timeout(NexHealthError):
    """No answer in time, or the connection dropped after sending: a write may have happened."""


class Unreachable(NexHealthError):
    """No connection could be made: nothing was sent."""


class Refused(NexHealthError):
    """4xx other than 401/403/429: the request was refused (`detail`: NexHealth's reasons)."""


def _token_expiry(token: str, now: float) -> float:
    """When the JWT's `exp` says it lapses (its signature is NexHealth's business, not ours)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return now + DEFAULT_TOKEN_SECONDS


def _template(route: str) -> str:
    """`appointments/123` -> `appointments/{id}`: ids out of the logged route."""
    return "/".join("{id}" if part.isdigit() else part for part in route.split("/"))


class NexHealthClient:
    """The location's NexHealth at `base_url` with `api_key`; `transport` is for tests only."""

    def __init__(
        self,
        config: NexHealth,
        *,
        api_key: str,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.requests = 0  # how many requests were sent (figures: PMS requests per call)
        self.authentications = 0
        self._api_key = api_key
        self._clock, self._sleep = clock, sleep
        self._token = ""
        self._expires = 0.0
        self._auth_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers={"Nex-Api-Version": VERSION, "Accept": "application/json"},
            timeout=config.timeout_seconds,
            transport=transport,
            verify=True,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the token -------------------------------------------------------------------------------

    async def _bearer(self, *, renew: bool = False, stale: str = "") -> str:
        async with self._auth_lock:
            fresh = self._token and self._clock() < self._expires - TOKEN_MARGIN
            # Renewing because `stale` was refused: another request may have renewed already.
            if fresh and not (renew and self._token == stale):
                return self._token
            response = await self._send(
                "POST", "authenticates", headers={"Authorization": self._api_key}
            )
            if response.status_code == 401:
                log.error(
                    "nexhealth refused the API key (401): check NEXHEALTH_API_KEY (the "
                    "production key from NexHealth's developer portal)"
                )
                raise Unauthorized("authenticates", 401)
            data = self._data("POST", "authenticates", response)
            token = str((data or {}).get("token", ""))
            if not token:
                raise Refused("authenticates", response.status_code, "no token in the answer")
            self.authentications += 1
            self._token, self._expires = token, _token_expiry(token, self._clock())
            return token

    # --- requests --------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        route: str,
        *,
        params: Params | None = None,
        json: Row | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        self.requests += 1
        query = {f"{k}[]" if isinstance(v, list) else k: v for k, v in (params or {}).items()}
        try:
            return await self._http.request(method, route, params=query, json=json, headers=headers)
        except httpx.TimeoutException:
            log.warning("nexhealth %s %s: no answer in time", method, _template(route))
            raise Timeout(route) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            log.warning("nexhealth %s %s: %s", method, _template(route), type(exc).__name__)
            raise (Timeout(route) if sent else Unreachable(route)) from None
        except httpx.TransportError as exc:
            log.warning("nexhealth %s %s: %s", method, _template(route), type(exc).__name__)
            raise Unreachable(route) from None

    def _data(self, method: str, route: str, response: httpx.Response) -> Any:
        """The envelope's `data`, or the typed error its status means."""
        status = response.status_code
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if status < 300:
            if body.get("error"):  # e.g. a parameter the route does not take: our bug
                log.warning(
                    "nexhealth %s %s: answered with %d error(s) on success",
                    method,
                    _template(route),
                    len(body["error"]),
                )
            return body.get("data")
        log.warning("nexhealth %s %s: HTTP %s", method, _template(route), status)
        if status == 401:
            raise Unauthorized(route, status)
        if status == 403:
            raise Forbidden(route, status)
        if status >= 500:
            raise ServerError(route, status)
        reasons = "; ".join(str(e) for e in body.get("error") or []) or response.text[:200]
        raise Refused(route, status, reasons)

    async def _exchange(
        self, method: str, route: str, params: Params | None, json: Row | None
    ) -> httpx.Response:
        """Sends one request in the location's scope (`subdomain` added) with the bearer
        token: once more with a fresh token after a 401, again after each short 429."""
        scoped: Params = {"subdomain": self.config.subdomain, **(params or {})}
        token = await self._bearer()
        renewed = False
        waited = 0.0
        while True:
            response = await self._send(
                method,
                route,
                params=scoped,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401 and not renewed:
                renewed = True
                token = await self._bearer(renew=True, stale=token)
                continue
            if response.status_code != 429:
                return response
            wait = _retry_after(response)
            if wait is None or wait > self.config.rate_limit_wait_seconds - waited:
                log.warning("nexhealth %s %s: HTTP 429", method, _template(route))
                raise RateLimited(route, wait)
            waited += wait
            await self._sleep(wait)

    async def request(
        self, method: str, route: str, *, params: Params | None = None, json: Row | None = None
    ) -> Any:  # Any: the envelope's `data`, an object or a list as the route returns it
        """One request; its `data`, or a typed error."""
        response = await self._exchange(method, route, params, json)
        return self._data(method, route, response)

    async def get(self, route: str, **params: str | int | list[int]) -> Any:
        return await self.request("GET", route, params=params)

    async def get_all(self, route: str, **params: str | int | list[int]) -> list[Row]:
        """Every row of a paged list: pages 1, 2, ... until the envelope's `count` (the total
        across pages) have come."""
        rows: list[Row] = []
        page = 1
        while True:
            response = await self._exchange(
                "GET", route, {**params, "page": page, "per_page": PER_PAGE}, None
            )
            data = _rows(self._data("GET", route, response))
            count = response.json().get("count")
            rows.extend(data)
            if not data or not isinstance(count, int) or len(rows) >= count:
                return rows
            page += 1


def _rows(data: Any) -> list[Row]:
    """A list route's rows: `data` itself (v3), or the one list inside it (v2's
    `{"patients": [...]}`)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    raise Refused("list", 200, "expected a list")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None
