"""The staff web app: the practice's side of the line, in a browser.

Server-rendered pages (Jinja2, no JavaScript framework) over the same book and the same domain
rules as the agent. Like `ops/`, nothing a call runs imports this package.

    uv run receptionist web          # serves create_app(settings) on WEB_HOST:WEB_PORT
"""

from receptionist.web.app import create_app, start_background_tasks

__all__ = ["create_app", "start_background_tasks"]
