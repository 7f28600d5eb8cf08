"""torch.distributed for training: set up from torchrun's environment, nothing home-made.

``torchrun --nproc_per_node N [--nnodes M ...] -m stylezoo train ...`` starts the processes and
sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; this module
only reads them, joins the process group (NCCL on CUDA, gloo on CPU) and picks the local GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """Where this process stands: its rank, the number of processes, its local rank."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Whether this process logs and writes files (rank 0)."""
        return self.rank == 0


def from_environment() -> World:
    """The world torchrun describes in the environment (one process when it says nothing)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(
        rank=int(os.environ.get("RANK", "0")),
        size=size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def join(world: World, device: torch.device) -> None:
    """Join the default process group once (NCCL for CUDA devices, gloo otherwise)."""
    if not world.distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)


def local_device(world: World, requested: torch.device) -> torch.device:
    """On CUDA each process takes GPU ``LOCAL_RANK``; other devices are used as given."""
    index: int | None = requested.index
    if world.distributed and requested.type == "cuda" and index is None:
        return torch.device("cuda", world.local_rank)
    return requested


def barrier(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.barrier()


def mean_across(world: World, values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over all processes (a no-op for one process)."""
    if not world.distributed or not dist.is_initialized():
        return values
    summed = values.clone()
    dist.all_reduce(summed)
    return summed / world.size
