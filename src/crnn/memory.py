"""The memory crnn keeps from call to call, and how to give it back.

A training loop makes the same large arrays at every step (the states and predictions of
a forward pass, the gates, ``dx``, the backward pass's work space, ...) and drops them one
step later. Fresh memory
from the system comes as pages that the kernel zeroes when they are first touched, at
every step, and crnn's loops would pay for that inside their time loop. So crnn makes its
arrays of 256 KiB or more in memory of its own pool (a numpy memory handler, NEP 49): when
numpy frees such an array, the pool keeps its memory, up to a limit, and hands it to
crnn's next array of about the same size. Every other array keeps numpy's allocator.

tracemalloc still counts crnn's arrays while they live, as numpy reports them; the memory
the pool keeps between calls is not an array, and only the process's RSS shows it.

The pool keeps at most 1 GiB by default. A process that serves predictions beside other
work may want less: ``set_memory_pool_limit``, or the environment variable
``CRNN_MEMORY_POOL_LIMIT`` (bytes) read when crnn is imported.

Forking: crnn's pool is safe across ``fork()``, but OpenBLAS with more than one thread
can deadlock in a child forked while another thread is inside a BLAS call. With
``multiprocessing``, use the "spawn" or "forkserver" start method, or one BLAS thread.
"""

import os

from crnn import _arrays

__all__ = ["memory_pool", "set_memory_pool_limit", "release_memory"]


def memory_pool():
    """What crnn's memory pool keeps now.

    Returns:
    info -- dict with "bytes" and "blocks" (the memory kept, in how many blocks) and
            "limit" (the most bytes it keeps; 1 GiB unless set_memory_pool_limit changed it)
    """
    nbytes, blocks, limit = _arrays.pool_info()
    return {"bytes": nbytes, "blocks": blocks, "limit": limit}


def set_memory_pool_limit(nbytes):
    """Keep at most nbytes in crnn's memory pool; 0 keeps nothing.

    Arguments:
    nbytes -- int >= 0; what the pool keeps above it is given back at once

    Returns:
    former -- the former limit
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0, got {nbytes!r}")
    return _arrays.pool_set_limit(min(nbytes, 2**63 - 1))


def release_memory():
    """Free the memory crnn keeps between calls, its pool's.

    With glibc (Linux), the C allocator is then asked to return its free memory to the
    system (``malloc_trim``), so the process's RSS falls. Elsewhere the memory goes back
    to the C allocator, which returns large blocks to the system itself.

    Returns:
    nbytes -- the bytes given back
    """
    return _arrays.pool_release()


def _limit_from_environment():
    """Apply CRNN_MEMORY_POOL_LIMIT, if set, as the pool's limit."""
    value = os.environ.get("CRNN_MEMORY_POOL_LIMIT", "").strip()
    if not value:
        return
    try:
        nbytes = int(value)
    except ValueError:
        nbytes = -1
    if nbytes < 0:
        raise ValueError(
            f"the environment variable CRNN_MEMORY_POOL_LIMIT must be a number of bytes "
            f"(an int >= 0), got {value!r}"
        )
    set_memory_pool_limit(nbytes)


_limit_from_environment()
