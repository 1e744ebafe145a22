"""A second line for test_scaling: its own number, trunk and dispatch rule naming the fleet's agent.

The scaling tests run workers under an agent name of their own, so the session's worker (which
answers the practice's number) never takes their calls and every call they place lands on the
fleet they control. Run inside the stack's namespace with LIVEKIT_* set:

    python fleet_line.py create NUMBER AGENT_NAME ALLOWED_CIDR ROOM_PREFIX   # prints ids as JSON
    python fleet_line.py delete TRUNK_ID RULE_ID
"""

from __future__ import annotations

import asyncio
import json
import sys

from livekit import api

TRUNK_NAME = "e2e-fleet-line"
RULE_NAME = "e2e-fleet-dispatch"


async def create(number: str, agent_name: str, allowed: str, prefix: str) -> dict[str, str]:
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
                dispatch_rule=api.SIPDispatchRuleInfo(
                    name=RULE_NAME,
                    trunk_ids=[trunk.sip_trunk_id],
                    rule=api.SIPDispatchRule(
                        dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=prefix)
                    ),
                    room_config=api.RoomConfiguration(
                        agents=[api.RoomAgentDispatch(agent_name=agent_name)]
                    ),
                )
            )
        )
    return {"trunk_id": trunk.sip_trunk_id, "rule_id": rule.sip_dispatch_rule_id}


async def delete(trunk_id: str, rule_id: str) -> dict[str, str]:
    async with api.LiveKitAPI() as lk:
        await lk.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)
        )
        await lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id))
    return {"deleted": f"{trunk_id} {rule_id}"}


if __name__ == "__main__":
    action, *args = sys.argv[1:]
    done = asyncio.run(create(*args) if action == "create" else delete(*args))
    print(json.dumps(done))
