"""Data parallelism through torch.distributed: one process per device, started by torchrun.

``torchrun --nproc_per_node=N -m lineocr.cli train ...`` sets RANK / WORLD_SIZE /
LOCAL_RANK; the same command without torchrun runs one process. gloo on CPU, nccl on GPU.
Only rank 0 logs, validates and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def _launch() -> tuple[int, int]:
    """(world size, rank) as torchrun sets them; (1, 0) for a process launched alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return (world, int(os.environ["RANK"])) if world > 1 else (1, 0)


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a process launched alone; read from the environment,
    so it holds before the process group is set up and after it is left (the work around
    ``fit``: the data summary, calibration)."""
    return _launch()[1] == 0


def setup(device: str) -> DistContext:
    world, rank = _launch()
    if world <= 1:
        return DistContext(device=device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank, device=device)


def teardown(ctx: DistContext) -> None:
    """Leave the process group together: a rank that destroys it while another still
    works (rank 0 writing its summary) can abort at exit in gloo's threads ("terminate
    called without an active exception", seen once in CI), so every rank waits first."""
    if ctx.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def broadcast_flag(ctx: DistContext, flag: bool) -> bool:
    """Rank 0's decision (e.g. early stop), seen by every rank."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=ctx.device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def broadcast_value(ctx: DistContext, value: float) -> float:
    """Rank 0's value (e.g. the run's clock), seen by every rank."""
    if not ctx.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.broadcast(t, src=0)
    return float(t.item())


def mean_across(ctx: DistContext, value: float) -> float:
    if not ctx.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size
