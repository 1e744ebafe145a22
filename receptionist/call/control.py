"""Call control over LiveKit's SIP API: cold transfer (SIP REFER) and hang-up (room deletion).

The API client is injected (the job's `ctx.api` in production, a recording fake in tests) so the
exact requests sent are observable. Results are values, not exceptions, because every failure must
turn into something the caller hears.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livekit import api

from receptionist.call.sip import LiveKitClient
from receptionist.domain.phone import mask

if TYPE_CHECKING:
    from receptionist.call.legs import Legs

log = logging.getLogger("receptionist.call")
NOT_A_PHONE_CALL = "caller is not on a phone line"
NO_DESTINATION = "no transfer destination is set"


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    destination: str
    sip_status_code: int | None = None
    reason: str = ""
    # The caller has already been told what happened (a warm transfer says it itself).
    told_caller: bool = False

    @property
    def failed(self) -> bool:
        return not self.ok


class CallControl:
    """The SIP-facing actions on one call.

    `legs` (receptionist/call/legs.py) is the room a warm transfer dials the staff into; a call
    without it (console, browser, reminder calls) can only be transferred cold."""

    def __init__(
        self,
        client: LiveKitClient | None,  # None: no server to ask (console mode, `agent.py try`)
        *,
        room_name: str,
        participant_identity: str,
        ringing_timeout: float,
        legs: Legs | None = None,
    ) -> None:
        self._client = client
        self.room_name = room_name
        self.participant_identity = participant_identity
        self.ringing_timeout = ringing_timeout
        self.legs = legs
        self.transfer_lock = asyncio.Lock()

    @property
    def can_transfer(self) -> bool:
        """Only a phone caller on a server we can reach can be handed over by SIP REFER."""
        return bool(self.participant_identity) and self._client is not None

    def transfer_request(self, destination: str) -> api.TransferSIPParticipantRequest:
        request = api.TransferSIPParticipantRequest(
            room_name=self.room_name,
            participant_identity=self.participant_identity,
            transfer_to=destination,
            play_dialtone=False,
        )
        request.ringing_timeout.FromSeconds(int(self.ringing_timeout))
        return request

    def refusal(self, destination: str) -> TransferResult | None:
        """Why a transfer to `destination` cannot even be tried, or None if it can."""
        if not destination:
            return TransferResult(ok=False, destination="", reason=NO_DESTINATION)
        if not self.can_transfer:
            return TransferResult(ok=False, destination=destination, reason=NOT_A_PHONE_CALL)
        return None

    async def transfer(self, destination: str) -> TransferResult:
        """Cold-transfers the caller. The caller leaves the room when this succeeds."""
        if refused := self.refusal(destination):
            return refused
        assert self._client is not None  # refusal() refuses every transfer without one
        log.info("transferring call", extra={"destination": _safe(destination)})
        try:
            response = await self._client.sip.transfer_sip_participant(
                self.transfer_request(destination)
            )
        except api.SipCallError as exc:
            log.warning(
                "transfer failed",
                extra={"sip_status_code": exc.sip_status_code, "sip_status": exc.sip_status},
            )
            return TransferResult(
                False, destination, exc.sip_status_code, exc.sip_status or str(exc)
            )
        except api.TwirpError as exc:
            log.warning("transfer refused by the server", extra={"twirp_code": exc.code})
            return TransferResult(False, destination, None, exc.message)
        except Exception as exc:  # timeouts, connection errors: the caller must still hear why
            log.warning("transfer request failed", extra={"error": type(exc).__name__})
            return TransferResult(False, destination, None, type(exc).__name__)
        # A reply without an error can still report failure (livekit-api: any status but
        # ongoing/successful means the transfer did not complete).
        if getattr(response, "status", None) == api.SIPTransferStatus.STS_TRANSFER_FAILED:
            reason = api.SIPTransferReason.Name(response.reason)
            log.warning("transfer reported failed", extra={"reason": reason})
            return TransferResult(False, destination, None, reason)
        return TransferResult(ok=True, destination=destination)

    async def transfer_settled(self) -> None:
        """Waits until no transfer is under way (one may ring for the whole ringing timeout)."""
        async with self.transfer_lock:
            pass

    async def hang_up(self) -> None:
        """Ends the call for everyone: deleting the room makes the SIP bridge send BYE."""
        if self._client is None:
            return
        try:
            await self._client.room.delete_room(api.DeleteRoomRequest(room=self.room_name))
        except api.TwirpError as exc:
            if exc.code != "not_found":
                log.warning("could not delete the room", extra={"twirp_code": exc.code})
        except Exception as exc:  # the job still ends; the server closes an empty room itself
            log.warning("could not delete the room", extra={"error": type(exc).__name__})


def _safe(destination: str) -> str:
    """A destination fit for logs: phone numbers masked, SIP hosts kept for debugging."""
    if destination.lower().startswith("tel:"):
        return "tel:" + mask(destination[4:])
    user, _, host = destination.partition("@")
    return f"sip:***@{host}" if host else "sip:***"
