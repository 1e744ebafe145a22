"""Creates the state an older, hand-written setup leaves behind: an inbound trunk plus a dispatch
rule made through the deprecated top-level fields of CreateSIPDispatchRuleRequest, which carry no
`room_config` (so no agent name). `receptionist sip doctor` must flag it; `sip setup` must repair
it in place. Prints the ids as JSON. Run inside the stack's namespace with LIVEKIT_* set.
"""

from __future__ import annotations

import asyncio
import json
import sys

from livekit import api


async def main(number: str, allowed: str) -> dict[str, str]:
    async with api.LiveKitAPI() as lk:
        trunk = await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(
                trunk=api.SIPInboundTrunkInfo(
                    name="receptionist-inbound", numbers=[number], allowed_addresses=[allowed]
                )
            )
        )
        rule = await lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(
                name="receptionist-dispatch",
                trunk_ids=[trunk.sip_trunk_id],
                rule=api.SIPDispatchRule(
                    dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-")
                ),
            )
        )
    return {"trunk_id": trunk.sip_trunk_id, "rule_id": rule.sip_dispatch_rule_id}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
