"""Which precision the matrix products of `dtype = "auto"` run in, and why.

bfloat16 products are worth it only where the hardware computes them natively: on a GPU
with bf16 tensor cores (compute capability 8.0 and later), and on a CPU with AVX512-BF16
or AMX (x86-64) or the BF16 extension (Arm). Elsewhere torch emulates them, many times
slower than float32. The decision is read off the machine, never assumed: the CPU's
flags say whether the instructions exist, and one timed product says whether this torch
build uses them (a bf16 product at a CGAN layer's shape must beat float32 by
`_NATIVE_SPEEDUP`). It is made once per process; where the flags cannot be read, the
timing alone decides, with a wider margin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch

# A product at a CGAN layer's shape: K models, a batch of 32 rows, 512 wide.
_PROBE_SHAPE = (5, 32, 512, 512)
_PROBE_REPEATS, _PROBE_ROUNDS = 20, 5
# bf16 must be at least this much faster than float32 for "auto" to take it: native bf16
# products measured 2 to 4 times faster here; emulated ones are many times slower.
_NATIVE_SPEEDUP = 1.15
_UNKNOWN_FLAGS_SPEEDUP = 1.5
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


@dataclass(frozen=True)
class Precision:
    """The resolved dtype of the matrix products and the reason, for `plan` and the store."""

    dtype: str  # "float32" or "bfloat16"
    reason: str


def resolve_dtype(dtype: str, device: torch.device) -> str:
    """`dtype` as the families run it: "auto" becomes "bfloat16" where this machine
    computes bf16 natively (`auto_precision`), else "float32"."""
    return auto_precision(device).dtype if dtype == "auto" else dtype


def auto_precision(device: torch.device) -> Precision:
    """What `dtype = "auto"` gives on `device`, and why (cached per device)."""
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_precision(device.index or 0)
    return _cpu_precision()


@cache
def _cuda_precision(index: int) -> Precision:
    major, minor = torch.cuda.get_device_capability(index)
    name = torch.cuda.get_device_name(index)
    if major >= 8:
        return Precision("bfloat16", f"{name} (compute capability {major}.{minor}) has bf16 "
                                     "tensor cores")
    return Precision("float32", f"{name} (compute capability {major}.{minor}) has no bf16 "
                                "tensor cores (8.0 and later do)")


@cache
def _cpu_precision() -> Precision:
    flags = cpu_flags()
    found = [flag for flag in _CPU_BF16_FLAGS if flag in flags] if flags is not None else []
    if flags is not None and not found:
        return Precision("float32", "this CPU has no native bf16 instructions (none of "
                                    f"{', '.join(_CPU_BF16_FLAGS)} among its flags)")
    speedup = bf16_speedup()
    needed = _NATIVE_SPEEDUP if found else _UNKNOWN_FLAGS_SPEEDUP
    measured = (f"a {'x'.join(map(str, _PROBE_SHAPE[1:]))} product ran {speedup:.2f}x as "
                "fast in bf16 as in float32")
    where = f"CPU flags {', '.join(found)}" if found else "CPU flags unreadable"
    if speedup >= needed:
        return Precision("bfloat16", f"native bf16 on this CPU ({where}; {measured})")
    return Precision("float32", f"bf16 is not faster here ({where}; {measured}, "
                                f"{needed:.2f}x needed)")


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (x86 "flags", Arm "Features"), or None
    where that file does not exist or names none."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return set(value.split())
    return None


def bf16_speedup() -> float:
    """How many times faster one batched product of `_PROBE_SHAPE` runs under bf16
    autocast than in float32 here (best of `_PROBE_ROUNDS` rounds each, interleaved)."""
    k, rows, width_in, width_out = _PROBE_SHAPE
    generator = torch.Generator().manual_seed(0)
    left = torch.randn(k, rows, width_in, generator=generator)
    right = torch.randn(k, width_in, width_out, generator=generator)

    def seconds(context) -> float:
        with context:
            torch.bmm(left, right)  # warm up: kernels chosen, buffers allocated
            started = time.perf_counter()
            for _ in range(_PROBE_REPEATS):
                torch.bmm(left, right)
            return time.perf_counter() - started

    float32, bfloat16 = [], []
    for _ in range(_PROBE_ROUNDS):
        float32.append(seconds(torch.autocast("cpu", enabled=False)))
        bfloat16.append(seconds(torch.autocast("cpu", dtype=torch.bfloat16)))
    return min(float32) / min(bfloat16)
