# syntax=docker/dockerfile:1
# The receptionist worker image, in the shape of LiveKit's uv template: a build stage that
# installs locked dependencies, and a slim runtime stage that runs as an unprivileged user.
#
# BASE_IMAGE is an argument so a builder that cannot pull it can pass a stand-in with the same
# Python and uv (scripts/image.sh assembles one; see docs/deploy.md, "The image"). Its default is
# the image this Dockerfile is made for: keep the Python version in its tag (3.11) in step with
# pyproject.toml.
ARG BASE_IMAGE=ghcr.io/astral-sh/uv:python3.11-bookworm-slim
FROM ${BASE_IMAGE} AS base

# Every layer of this build carries the title, so scripts/image.sh can tell its own stale cache
# from other images when it cleans up.
LABEL org.opencontainers.image.title="dental-receptionist" \
      org.opencontainers.image.description="The dental receptionist's LiveKit worker (agent.py start)"

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

# No uv cache: with HOME=/app it would land in /app/.cache/uv, and the runtime stage copies /app
# (a second copy of every package, 561 MB). No cache mount either (RUN --mount): not every
# builder has one, and `lk agent deploy` builds this file on LiveKit's build service.
ENV UV_NO_CACHE=1

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

# OUTBOX_DIR's default (/app/outbox), there and owned by appuser, so a volume mounted on it
# starts out writable (Docker gives a new named volume the ownership of the folder it covers).
RUN mkdir -p outbox

# ---- runtime: no compilers, no apt lists, no uv cache; only /app from the build ----
FROM base
ARG UID=10001
RUN adduser --disabled-password --gecos "" --home /app --shell /sbin/nologin --uid "${UID}" appuser
WORKDIR /app
COPY --from=build --chown=appuser:appuser /app /app
USER appuser

# onnxruntime and the plugins write caches under $HOME: /app is owned by appuser.
# `uv run` passes SIGTERM on to agent.py, which then drains (docs/deploy.md, "Drain time").
CMD ["uv", "run", "--no-sync", "agent.py", "start"]
