"""What one server process holds while it runs: settings, models, batcher, budgets, flags.

Created by :func:`lineocr.serve.app.create_app`, kept on ``app.state.lineocr``, and handed to
the routes by the :data:`State` dependency.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from lineocr.serve.batcher import Batcher
from lineocr.serve.limits import PixelBudget
from lineocr.serve.metrics import Metrics
from lineocr.serve.models import Loader, ModelSet, Resources
from lineocr.serve.pages import PageWorkers
from lineocr.serve.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics
    batcher: Batcher
    resources: Resources
    loader: Loader | None
    pixels: PixelBudget  # the decoded pixels the requests in flight hold
    pages: PageWorkers  # the threads pages are laid out in
    models: ModelSet = field(default_factory=ModelSet)
    started: bool = False
    # One untrusted pattern compiles at a time (each within settings.pattern_budget_s).
    compile_slot: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    shutting_down: bool = False


def server_state(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    state: ServerState = request.app.state.lineocr
    return state


State = Annotated[ServerState, Depends(server_state)]
