"""SIP trunk and dispatch rule provisioning, diagnosis (`sip doctor`) and SIP status codes."""
