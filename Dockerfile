# syntax=docker/dockerfile:1
# The receptionist worker image, in the shape of LiveKit's uv template: a build stage that
# installs locked dependencies, and a slim runtime stage that runs as an unprivileged user.
ARG PYTHON_VERSION=3.11
FROM ghcr.io/astral-sh/uv:python${PYTHON_VERSION}-bookworm-slim AS base

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    HOME=/app

# ---- build: compilers for any wheel that must build from source ----
FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ python3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first, so code changes do not invalidate the dependency layer.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# Model files the plugins need at run time (none are downloaded for this stack today, but a
# plugin that needs some would get them here, at build time, not on a patient's call).
RUN uv run --no-sync python -m livekit.agents download-files

COPY . .
RUN uv sync --locked --no-dev

# A migrated SQLite book so the image starts as is (DATABASE_URL unset). It lives and dies with
# the container: for real use set DATABASE_URL to PostgreSQL and migrate that database instead.
RUN uv run --no-sync receptionist migrate

# ---- runtime ----
FROM base
ARG UID=10001
RUN adduser --disabled-password --gecos "" --home /app --shell /sbin/nologin --uid "${UID}" appuser
WORKDIR /app
COPY --from=build --chown=appuser:appuser /app /app
USER appuser

# onnxruntime and the plugins write caches under $HOME: /app is owned by appuser.
CMD ["uv", "run", "--no-sync", "agent.py", "start"]
