"""Creates the state an older, hand-written setup leaves behind: an inbound trunk plus a dispatch
rule made through the deprecated top-level fields of CreateSIPDispatchRuleRequest, which carry no
`room_config` (so no agent name). Both carry names of their own, not the ones `sip setup` uses, so
setup must recognise them by what they do (the trunk carries the practice's number, the rule covers
that trunk) and adopt them. `receptionist sip doctor` must flag the rule; `sip setup` must repair
it in place. Prints the ids and names as JSON. Run inside the stack's namespace with LIVEKIT_* set.
"""

from __future__ import annotations

import asyncio
import json
import sys

from livekit import api

TRUNK_NAME = "front-desk-line"
RULE_NAME = "old-script-dispatch"


async def main(number: str, allowed: str) -> dict[str, str]:
    async with api.LiveKitAPI() as lk:
        trunk = await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(
                trunk=api.SIPInboundTrunkInfo(
                    name=TRUNK_NAME, numbers=[number], allowed_addresses=[allowed]
                )
            )
        )
        rule = await lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(
                name=RULE_NAME,
                trunk_ids=[trunk.sip_trunk_id],
                rule=api.SIPDispatchRule(
                    dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-")
                ),
            )
        )
    return {
        "trunk_id": trunk.sip_trunk_id,
        "rule_id": rule.sip_dispatch_rule_id,
        "trunk_name": TRUNK_NAME,
        "rule_name": RULE_NAME,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
