"""A small async client for Open Dental's REST API v1 (opendental.com/site/apispecification.html).

One client per office, shared by every call in the process. What it guarantees:

- **TLS verified** to every https door (httpx's default; nothing here turns it off), and the
  address comes from practice.toml, checked there (http only to this machine).
- **No keys or PHI in logs**: the `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}` header is
  never logged, and a failure is logged as its route template and status only (never a query
  string: it holds names and birth dates).
- **Typed failures**: `Unauthorized` (401: a wrong, expired or disabled key), `RateLimited`
  (429), `ServerError` (5xx), `Timeout` (no answer in time: a write may or may not have happened)
  and `Unreachable` (no connection: nothing was sent). All are `OpenDentalError`s; the book turns
  them into the `Book` port's `StoreUnavailable`.
- **Paging**: `get_all` follows `Offset` until a page comes back shorter than the door's page
  (100 Remote, 1000 Local and API Service, per the specification's Pagination section).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx

from receptionist.domain.books import Door, OpenDental

log = logging.getLogger(__name__)

PAGE_SIZE = {Door.REMOTE: 100, Door.LOCAL: 1000, Door.SERVICE: 1000}
DATETIME = "%Y-%m-%d %H:%M:%S"  # Open Dental's datetimes: office local time, no zone
DATE = "%Y-%m-%d"

# One row of Open Dental JSON: PascalCase keys, values as the API sends them.
Row = dict[str, Any]  # Any: the API's JSON values (str, int, float, nested lists)


class OpenDentalError(Exception):
    """Open Dental did not do what was asked (see the subclasses for what is known)."""

    def __init__(self, route: str, status: int | None = None, detail: str = "") -> None:
        self.route, self.status = route, status
        super().__init__(f"{route}: {status or 'no answer'} {detail}".strip())


class Unauthorized(OpenDentalError):
    """401: the developer or customer key is wrong, expired or not enabled for this office."""


class RateLimited(OpenDentalError):
    """429: too many requests; `retry_after` seconds, when the server said."""

    def __init__(self, route: str, retry_after: float | None = None) -> None:
        super().__init__(route, 429)
        self.retry_after = retry_after


class ServerError(OpenDentalError):
    """5xx: the API (or the office's eConnector behind it) failed; a write may have happened."""


class Timeout(OpenDentalError):
    """No answer in time: a write may or may not have happened (look before writing again)."""


class Unreachable(OpenDentalError):
    """No connection could be made: nothing was sent."""


class Refused(OpenDentalError):
    """4xx other than 401/429: the request itself was refused (400 bad field, 404 no such row)."""


def od_datetime(value: datetime) -> str:
    return value.strftime(DATETIME)


def parse_datetime(value: str) -> datetime:
    return datetime.strptime(value, DATETIME)


def auth_header(developer_key: str, customer_key: str) -> str:
    return f"ODFHIR {developer_key}/{customer_key}"


class OpenDentalClient:
    """The office's API at `config.url` with the ODFHIR keys; `transport` is for tests only."""

    def __init__(
        self,
        config: OpenDental,
        *,
        developer_key: str,
        customer_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.page_size = PAGE_SIZE[config.door]
        self.requests = 0  # how many requests were sent (figures: PMS requests per call)
        self._http = httpx.AsyncClient(
            base_url=config.url + "/",
            headers={
                "Authorization": auth_header(developer_key, customer_key),
                "Content-Type": "application/json",
            },
            timeout=config.timeout_seconds,
            transport=transport,
            verify=True,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, str | int] | None = None,
        json: Row | None = None,
    ) -> Any:  # Any: a JSON object or list, as the route returns it
        """One request; the decoded JSON (None for an empty body), or a typed error. `route`
        is the path without parameters' values in it where it can be (logged on failure)."""
        self.requests += 1
        try:
            response = await self._http.request(method, route, params=params, json=json)
        except httpx.TimeoutException:
            log.warning("open dental %s %s: no answer in time", method, _template(route))
            raise Timeout(route) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # A dropped connection after the request went out is as unknown as a timeout.
            sent = not isinstance(exc, httpx.ConnectError)
            log.warning("open dental %s %s: %s", method, _template(route), type(exc).__name__)
            raise (Timeout(route) if sent else Unreachable(route)) from None
        except httpx.TransportError as exc:
            log.warning("open dental %s %s: %s", method, _template(route), type(exc).__name__)
            raise Unreachable(route) from None
        status = response.status_code
        if status < 300:
            return response.json() if response.content else None
        log.warning("open dental %s %s: HTTP %s", method, _template(route), status)
        if status == 401:
            raise Unauthorized(route, status)
        if status == 429:
            raise RateLimited(route, _retry_after(response))
        if status >= 500:
            raise ServerError(route, status)
        raise Refused(route, status, response.text[:200])

    async def get(self, route: str, **params: str | int) -> Any:
        return await self.request("GET", route, params=params or None)

    async def get_all(self, route: str, **params: str | int) -> tuple[list[Row], str]:
        """Every row of a paged list, and the first page's `serverDateTime` (for the next
        `DateTStamp`; "" when the list was empty, which carries none)."""
        rows: list[Row] = []
        server_time = ""
        offset = 0
        while True:
            page = await self.get(route, **params, **({"Offset": offset} if offset else {}))
            if not isinstance(page, list):
                raise Refused(route, 200, "expected a list")
            if page and not server_time:
                server_time = str(page[0].get("serverDateTime", ""))
            rows.extend(page)
            if len(page) < self.page_size:
                return rows, server_time
            offset += len(page)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _template(route: str) -> str:
    """`appointments/123/Break` -> `appointments/{n}/Break`: numbers out of the logged route."""
    return "/".join("{n}" if part.isdigit() else part for part in route.split("/"))
