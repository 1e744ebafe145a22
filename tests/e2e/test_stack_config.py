"""The stack's configuration templates render completely (no network, no root needed)."""

from __future__ import annotations

from string import Template

import yaml

from receptionist.ops.stack import TEMPLATES, LocalStack, StackConfig


def render(name: str, config: StackConfig) -> str:
    return Template((TEMPLATES / name).read_text()).substitute(config.template_values(TEMPLATES))


def test_templates_render_with_every_placeholder_filled():
    config = StackConfig(address="10.99.0.1")
    server = yaml.safe_load(render("livekit.yaml", config))
    sip = yaml.safe_load(render("sip.yaml", config))
    redis = render("redis.conf", config)
    assert server["rtc"]["node_ip"] == "10.99.0.1" and server["rtc"]["use_external_ip"] is False
    assert server["keys"] == {config.api_key: config.api_secret}
    assert sip["nat_1_to_1_ip"] == "10.99.0.1" and sip["use_external_ip"] is False
    assert sip["ws_url"] == config.livekit_url
    assert sip["redis"]["address"] == server["redis"]["address"] == "10.99.0.1:6379"
    assert "bind 10.99.0.1" in redis and 'save ""' in redis


def test_each_run_gets_its_own_secret_and_distinct_ports():
    first, second = StackConfig(), StackConfig()
    assert first.api_secret != second.api_secret and len(first.api_secret) >= 32
    ports = [
        first.redis_port,
        first.http_port,
        first.rtc_tcp_port,
        first.rtc_udp_port,
        first.sip_port,
        first.sip_health_port,
        8081,
    ]  # 8081: the agent worker's own port
    assert len(set(ports)) == len(ports)
    assert not first.rtp_port_start <= first.sip_port <= first.rtp_port_end


def test_wrap_runs_inside_the_namespace_only_in_netns_mode():
    assert LocalStack(StackConfig(name="x")).wrap(["sipp"]) == ["ip", "netns", "exec", "x", "sipp"]
    assert LocalStack(StackConfig(netns=False)).wrap(["sipp"]) == ["sipp"]
