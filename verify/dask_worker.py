r"""Worker side of sweeps on a Dask cluster: run a case with glibc's default heap thresholds.

Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (``distributed.nanny.pre-spawn-environ``),
so that freed memory goes back to the operating system at once. Setting that variable also switches off glibc's
dynamic thresholds: the top of the heap is trimmed whenever 64 KiB are free, and every block over 128 KiB is a
fresh ``mmap``. A flow of the float64 engine allocates and frees numpy temporaries at every right-hand side and
Jacobian evaluation of the integrator, so inside such a worker its memory is handed back and faulted in again
thousands of times per flow: measured on N = 6 sweep flows, 6× the page faults (480,000 against 82,000 for 11
flows), 7× the system time and about 40 % more CPU time per flow than the same flows in a process started
without the variable (the same slowdown appears in a plain spawned process given the variable, and goes away
in a Dask worker started without it).

:func:`dynamic_heap_thresholds` runs a block (:func:`verify.sweep.run_case_on_worker`: a sweep case) with the thresholds set to the ceiling glibc's dynamic scheme reaches
(``mmap`` above 32 MiB, trim above 64 MiB free) and puts the worker's own thresholds back, trimming the heap, when
no sweep case is running in it: between sweep tasks the worker keeps Dask's memory policy. Nothing changes
where the variable is not set or the C library is not glibc. ``ebm-verify run --scheduler`` sends its case
groups through :func:`verify.runner.run_group_on_worker`, under the same thresholds. This module imports no
other module of the suite.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["dynamic_heap_thresholds", "heap_thresholds_set", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: glibc ``mallopt`` parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: the ceiling of glibc's dynamic thresholds on 64-bit Linux (``DEFAULT_MMAP_THRESHOLD_MAX``, twice that for trim)
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
#: glibc's default ``mmap`` threshold, fixed once a ``MALLOC_*_`` variable is set
_DEFAULT_MMAP_THRESHOLD = 128 * 2**10

_lock = threading.Lock()
_running = 0


def _env_bytes(name: str) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


@lru_cache(maxsize=1)
def _libc():
    """glibc, or ``None`` (another C library or platform: nothing to do)."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def heap_thresholds_set() -> bool:
    """Whether this process was started with a small ``MALLOC_TRIM_THRESHOLD_`` (below :data:`TRIM_THRESHOLD`):
    glibc's dynamic thresholds are then off and a flow's temporaries are trimmed and faulted in again."""
    trim = _env_bytes("MALLOC_TRIM_THRESHOLD_")
    return trim is not None and trim < TRIM_THRESHOLD and _libc() is not None


def _enter() -> None:
    global _running
    with _lock:
        _running += 1
        if _running == 1 and heap_thresholds_set():
            libc = _libc()
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0 and heap_thresholds_set():
            libc = _libc()
            libc.mallopt(_M_TRIM_THRESHOLD, _env_bytes("MALLOC_TRIM_THRESHOLD_"))
            libc.mallopt(_M_MMAP_THRESHOLD, _env_bytes("MALLOC_MMAP_THRESHOLD_") or _DEFAULT_MMAP_THRESHOLD)
            libc.malloc_trim(0)


@contextmanager
def dynamic_heap_thresholds():
    """While the block runs, glibc's thresholds at the ceiling of its dynamic scheme (where the process was
    started with a small ``MALLOC_TRIM_THRESHOLD_``); the process's own thresholds, the heap trimmed, once no
    such block runs in it."""
    _enter()
    try:
        yield
    finally:
        _leave()
