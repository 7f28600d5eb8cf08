"""Device and dtype names as users write them, resolved to torch objects; free memory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from .errors import DeviceError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def resolve_device(device: Any) -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then the CPU; anything else must be available."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise DeviceError(
            f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'."
        ) from exc
    if resolved.type == "meta":
        raise DeviceError(
            f"Device {device!r} holds no data (tensors there have shapes only), so a model "
            "cannot run on it. Use 'cpu', 'cuda' or 'auto'."
        )
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"Device {device!r} was requested but CUDA is not available "
                "here. Use device='cpu' or device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise DeviceError(
                f"Device {device!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if resolved.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise DeviceError(f"Device {device!r} was requested but MPS is not available here.")
    if resolved.type not in ("cpu", "cuda", "mps"):
        backend = getattr(torch, resolved.type, None)
        is_available = getattr(backend, "is_available", None)
        if not callable(is_available) or not is_available():
            raise DeviceError(
                f"Device {device!r} ({resolved.type}) is not available here; use 'cpu', 'cuda' "
                "or 'auto'."
            )
    return resolved


def resolve_dtype(dtype: Any, device: torch.device | None = None) -> torch.dtype:
    """A floating dtype from a torch dtype or a name such as ``"bfloat16"``; default float32.

    ``"auto"`` picks the fast reduced precision the device runs natively: float16 on CUDA,
    bfloat16 on CPUs with native bfloat16 arithmetic (AVX-512 BF16 or AMX), float32
    elsewhere. Families keep their sensitive steps (normalisation statistics) in float32.
    """
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str) and dtype.strip().lower() == "auto":
        return _auto_dtype(device or torch.device("cpu"))
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise DeviceError(
                f"dtype {dtype} is not a floating dtype; use float32, bfloat16 or float16."
            )
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise DeviceError(f"Unknown dtype {dtype!r}; use 'float32', 'bfloat16' or 'float16'.")
    return _DTYPES[name]


def _auto_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and cpu_has_native_bfloat16():
        return torch.bfloat16
    return torch.float32


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (x86 AVX-512 BF16 or AMX flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def available_memory(device: torch.device) -> int | None:
    """Bytes a forward pass on ``device`` can still allocate, or ``None`` when unknown.

    CPU (Linux): ``MemAvailable`` of ``/proc/meminfo``, or less when a cgroup (a container's
    memory limit) leaves less. CUDA: the free device memory plus what PyTorch's caching
    allocator holds unused. Elsewhere: unknown.
    """
    if device.type == "cpu":
        return _cpu_available()
    if device.type == "cuda" and torch.cuda.is_available():
        try:
            free, _total = torch.cuda.mem_get_info(device)
            cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        except RuntimeError:
            return None
        return int(free + max(cached, 0))
    return None


def _cpu_available() -> int | None:
    if not sys.platform.startswith("linux"):
        return None
    available = _meminfo_available()
    limit = _cgroup_available()
    if available is None:
        return limit
    return available if limit is None else min(available, limit)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """What the memory cgroup (v2, else v1) still allows this process, if it limits it."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit_text = Path(limit_file).read_text().strip()
            if limit_text == "max":
                return None
            limit, usage = int(limit_text), int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit >= 1 << 60:  # cgroup v1 writes a huge number for "no limit"
            return None
        # Page cache counts as usage but is given back under pressure.
        reclaimable = _cgroup_stat(Path(limit_file).with_name("memory.stat"))
        return max(limit - usage + reclaimable, 0)
    return None


def _cgroup_stat(path: Path) -> int:
    """Inactive page cache of a memory cgroup (``inactive_file``), 0 when unknown."""
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in ("inactive_file", "total_inactive_file"):
                return int(value)
    except (OSError, ValueError):
        return 0
    return 0


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU/MPS allocators' RuntimeErrors saying the same."""
    text = str(exc).lower()
    return isinstance(exc, torch.cuda.OutOfMemoryError) or any(
        phrase in text for phrase in ("out of memory", "can't allocate memory", "not enough memory")
    )
