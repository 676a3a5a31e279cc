"""The Jinja environment: templates and static files ship inside the installed package (no CDN)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/app/static"


@lru_cache
def static_url(name: str) -> str:
    """`/app/static/app.js?v=<hash>`: a changed file gets a new URL, so a tablet never runs stale script."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PREFIX}/{name}?v={digest}"


@lru_cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["static_url"] = static_url
    return env


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    page = environment().get_template(name).render(request=request, **context)
    return HTMLResponse(page, status_code=status_code)
