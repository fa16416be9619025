"""Keeping the memory a CPU training step frees for its next batch.

glibc's malloc serves large blocks with fresh pages from the kernel (mmap) and hands
them back when they are freed, and returns free memory at the top of its heap too. A
training step allocates and frees the same large activations every batch, so with the
defaults every batch page-faults them in again, and the kernel zeroes every page. On
this project's 2-core CPU, keeping them made fastai's float32 loop 22 % faster for
ResNet18 and 38 % for SqueezeNet, and brought it level with a bare loop, which the
defaults had cost less (`benchmarks/train.py`; benchmarks/results/README.md has the
numbers). PyTorch's CPU tuning guide swaps the allocator (jemalloc, tcmalloc) for this; glibc's own
`mallopt` does it without preloading a library: serve blocks up to 1 GiB from the heap
and keep up to 1 GiB of free memory there.

The setting is process-wide and lasts as long as the process. That suits a training
step that is a process of its own (a child of the multiprocess executor, a pod of the k8s
one), and only there is it made (core/learning/training.train's `own_process`, which
assets/models.py sets from the step's executor): a run in the caller's process
(execute_in_process, the tests) leaves the caller's allocator alone. The memory kept is
what the step's own batches reach anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from functools import cache

_M_TRIM_THRESHOLD = -1  # malloc.h
_M_MMAP_THRESHOLD = -3
KEPT_BYTES = 1 << 30


@cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse; False where the C library is not glibc
    (musl, macOS, Windows), which keeps its own behaviour."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    return all(libc.mallopt(option, ctypes.c_int(KEPT_BYTES)) == 1
               for option in (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD))
