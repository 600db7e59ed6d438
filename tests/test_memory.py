"""crnn's memory pool (csrc/crnn_memory.c, crnn.memory): crnn's large arrays reuse the
memory of the ones freed before them, every result stays the course's, and the memory
kept is bounded and can be given back."""

import ctypes
import os
import sys

import numpy as np
import pytest

import crnn
from crnn import _arrays, reference
from crnn.testing import random_rnn_problem

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import get_handler_name

MIN_BYTES = 1 << 18  # CRNN_POOL_MIN_BYTES
#: (n_x, n_a, n_y, m, T_x) whose states (n_a·m·T_x: 550 KiB in float64, 275 KiB in
#: float32) go to the pool, and x, y and dx (225 KiB in float64) do not
SIZES = (8, 20, 8, 32, 110)


@pytest.fixture(autouse=True)
def empty_pool():
    """Each test starts from an empty pool with the default limit, and leaves it so."""
    limit = crnn.set_memory_pool_limit(1 << 30)
    crnn.release_memory()
    yield
    crnn.set_memory_pool_limit(limit)
    crnn.release_memory()


def owner(arr):
    """The array that owns arr's memory."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def test_large_arrays_come_from_the_pool_and_small_ones_from_numpy():
    x, a0, parameters, da = random_rnn_problem(*SIZES, seed=0)
    a, y, caches = crnn.rnn_forward(x, a0, parameters)
    assert a.nbytes >= MIN_BYTES and y.nbytes < MIN_BYTES
    assert get_handler_name(owner(a)) == "crnn_pool"
    assert get_handler_name(owner(y)) == get_handler_name(np.empty(3))
    grads = crnn.rnn_backward(da, caches)
    assert get_handler_name(owner(grads["dx"])) == get_handler_name(np.empty(3))  # n_x small
    # arrays made while crnn is not allocating keep numpy's own allocator
    assert get_handler_name(np.empty(MIN_BYTES)) == get_handler_name(np.empty(3))


def test_freed_arrays_are_kept_and_reused_by_the_next_call():
    x, a0, parameters, da = random_rnn_problem(*SIZES, seed=0)
    a, y, caches = crnn.rnn_forward(x, a0, parameters)
    address = owner(a).ctypes.data
    assert crnn.memory_pool()["blocks"] == 0
    del a, caches
    kept = crnn.memory_pool()
    assert kept["blocks"] == 1 and kept["bytes"] == SIZES[1] * SIZES[3] * SIZES[4] * 8
    a, y, caches = crnn.rnn_forward(x, a0, parameters)
    assert owner(a).ctypes.data == address
    assert crnn.memory_pool()["blocks"] == 0


def test_results_in_reused_memory_are_the_course_results(dtype):
    """Each call overwrites memory the call before filled with other numbers (states of
    another problem, or NaN): every result must still be the course code's."""
    tol = 1e-10 if dtype == np.float64 else 2e-4
    for seed in range(3):
        x, a0, parameters, da = random_rnn_problem(*SIZES, seed=seed, dtype=dtype)
        a, y, caches = crnn.rnn_forward(x, a0, parameters)
        grads = crnn.rnn_backward(da, caches)
        a_ref, y_ref, caches_ref = reference.rnn_forward(x, a0, parameters)
        grads_ref = reference.rnn_backward(da, caches_ref)
        np.testing.assert_allclose(a, a_ref, rtol=tol, atol=tol)
        np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol)
        for key, want in grads_ref.items():
            np.testing.assert_allclose(grads[key], want, rtol=tol, atol=tol, err_msg=key)
        owner(a).fill(np.nan)  # what the next call finds in this memory
        del a, y, caches, grads
        assert crnn.memory_pool()["blocks"] >= 1


def test_lstm_arrays_reuse_the_memory_too():
    n_x, n_a, n_y, m, T = SIZES
    x, a0, _, da = random_rnn_problem(*SIZES, seed=1)
    rng = np.random.default_rng(1)
    parameters = {f"W{g}": rng.standard_normal((n_a, n_a + n_x)) * 0.3 for g in "fico"}
    parameters.update({f"b{g}": rng.standard_normal((n_a, 1)) * 0.1 for g in "fico"})
    parameters.update(Wy=rng.standard_normal((n_y, n_a)), by=rng.standard_normal((n_y, 1)))
    first = crnn.lstm_forward(x, a0, parameters)
    gates = owner(first[3][0][0][4])  # ft of step 0 is a view of the gates of every step
    assert get_handler_name(gates) == "crnn_pool"
    address = gates.ctypes.data
    gates.fill(np.nan)
    del first, gates
    a, y, c, caches = crnn.lstm_forward(x, a0, parameters)
    assert owner(caches[0][0][4]).ctypes.data == address
    a_ref, y_ref, c_ref, caches_ref = reference.lstm_forward(x, a0, parameters)
    np.testing.assert_allclose(a, a_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c, c_ref, rtol=1e-10, atol=1e-12)
    grads = crnn.lstm_backward(da, caches)
    for key, want in reference.lstm_backward(da, caches_ref).items():
        np.testing.assert_allclose(grads[key], want, rtol=1e-9, atol=1e-11, err_msg=key)


def test_the_limit_bounds_what_is_kept():
    x, a0, parameters, da = random_rnn_problem(*SIZES, seed=0)
    nbytes = SIZES[1] * SIZES[3] * SIZES[4] * 8
    assert crnn.set_memory_pool_limit(nbytes - 1) == 1 << 30
    a, _, caches = crnn.rnn_forward(x, a0, parameters)
    del a, caches
    assert crnn.memory_pool() == {"bytes": 0, "blocks": 0, "limit": nbytes - 1}
    crnn.set_memory_pool_limit(nbytes)
    a, _, caches = crnn.rnn_forward(x, a0, parameters)
    b, _, caches_b = crnn.rnn_forward(x, a0, parameters)
    del a, caches, b, caches_b  # two blocks freed, room for one: the newer one is kept
    assert crnn.memory_pool()["bytes"] == nbytes
    crnn.set_memory_pool_limit(0)  # gives back what is kept
    assert crnn.memory_pool()["bytes"] == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "1", None, True])
def test_a_bad_limit_is_refused(bad):
    with pytest.raises(ValueError, match="nbytes must be an int >= 0"):
        crnn.set_memory_pool_limit(bad)


def test_release_memory_gives_back_the_pool():
    x, a0, parameters, da = random_rnn_problem(*SIZES, seed=0)
    a, _, caches = crnn.rnn_forward(x, a0, parameters)
    nbytes = a.nbytes
    del a, caches
    assert crnn.release_memory() >= nbytes
    assert crnn.memory_pool()["bytes"] == 0
    assert crnn.release_memory() == 0


def test_threads_share_the_pool_safely(assert_threads_agree):
    problems = [random_rnn_problem(*SIZES, seed=s) for s in range(4)]

    def run(i):
        x, a0, parameters, da = problems[i]
        a, y, caches = crnn.rnn_forward(x, a0, parameters)
        return a, crnn.rnn_backward(da, caches)

    assert_threads_agree(run, 4, 25)
    assert crnn.memory_pool()["blocks"] <= 32


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() of a threaded process
def test_a_forked_child_uses_the_pool_it_inherits():
    x, a0, parameters, da = random_rnn_problem(*SIZES, seed=0)
    a_want, _, caches = crnn.rnn_forward(x, a0, parameters)
    a_want = a_want.copy()
    del caches
    assert crnn.memory_pool()["blocks"] >= 1
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its pool works and gives the same states
        ok = False
        try:
            a, _, caches = crnn.rnn_forward(x, a0, parameters)
            ok = np.array_equal(a, a_want) and crnn.memory_pool()["blocks"] == 0
            del a, caches
            ok = ok and crnn.memory_pool()["blocks"] >= 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- the C pool itself, called through ctypes where the module exports its symbols ------


@pytest.fixture
def pool():
    lib = ctypes.CDLL(_arrays.__file__)
    if sys.platform == "win32" or not hasattr(lib, "crnn_pool_malloc"):
        pytest.skip("the extension does not export the pool's C functions here")
    size_t, ptr = ctypes.c_size_t, ctypes.c_void_p
    lib.crnn_pool_malloc.argtypes, lib.crnn_pool_malloc.restype = [ptr, size_t], ptr
    lib.crnn_pool_calloc.argtypes, lib.crnn_pool_calloc.restype = [ptr, size_t, size_t], ptr
    lib.crnn_pool_realloc.argtypes, lib.crnn_pool_realloc.restype = [ptr, ptr, size_t], ptr
    lib.crnn_pool_free.argtypes, lib.crnn_pool_free.restype = [ptr, ptr, size_t], None
    return lib


def test_a_block_serves_sizes_down_to_three_quarters_of_it(pool):
    block = pool.crnn_pool_malloc(None, 4 * MIN_BYTES)
    pool.crnn_pool_free(None, block, 4 * MIN_BYTES)
    other = pool.crnn_pool_malloc(None, 2 * MIN_BYTES)  # too small to take it
    assert other != block
    assert pool.crnn_pool_malloc(None, 3 * MIN_BYTES) == block
    pool.crnn_pool_free(None, other, 2 * MIN_BYTES)
    pool.crnn_pool_free(None, block, 3 * MIN_BYTES)
    assert crnn.memory_pool() == {"bytes": 5 * MIN_BYTES, "blocks": 2, "limit": 1 << 30}


def test_small_blocks_are_not_kept(pool):
    small = pool.crnn_pool_malloc(None, MIN_BYTES - 1)
    pool.crnn_pool_free(None, small, MIN_BYTES - 1)
    assert crnn.memory_pool()["blocks"] == 0
    pool.crnn_pool_free(None, None, MIN_BYTES)  # freeing NULL does nothing


def test_calloc_zeroes_a_reused_block(pool):
    block = pool.crnn_pool_malloc(None, MIN_BYTES)
    ctypes.memset(block, 0xFF, MIN_BYTES)
    pool.crnn_pool_free(None, block, MIN_BYTES)
    again = pool.crnn_pool_calloc(None, MIN_BYTES // 8, 8)
    assert again == block
    assert not any(ctypes.string_at(again, MIN_BYTES))
    assert pool.crnn_pool_calloc(None, 2**62, 16) is None  # nelem·elsize overflows
    grown = pool.crnn_pool_realloc(None, again, 2 * MIN_BYTES)
    assert grown
    pool.crnn_pool_free(None, grown, 2 * MIN_BYTES)


def test_at_most_32_blocks_are_kept_the_oldest_going_first(pool):
    blocks = [pool.crnn_pool_malloc(None, MIN_BYTES) for _ in range(33)]
    for block in blocks:
        pool.crnn_pool_free(None, block, MIN_BYTES)
    assert crnn.memory_pool()["blocks"] == 32
    taken = {pool.crnn_pool_malloc(None, MIN_BYTES) for _ in range(32)}
    assert taken == set(blocks[1:])
    for block in taken:
        pool.crnn_pool_free(None, block, MIN_BYTES)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="malloc_trim is glibc's",
)
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="AddressSanitizer's allocator stands in for glibc's",
)
def test_release_memory_lowers_the_resident_size_with_glibc():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    np.empty(4 << 20, np.uint8)  # freed from mmap, it raises glibc's threshold past 4 MiB
    # 32 blocks of 1 MiB to 3 MiB in the heap, each followed by a small allocation that
    # keeps the heap from shrinking from its top when the block is freed
    blocks, pins = [], []
    try:
        for k in range(32):
            blocks.append(_arrays.new_sequence(64, 64, 32 + k, np.float64))
            blocks[-1].fill(1.0)
            pins.append(libc.malloc(1 << 17))
        del blocks[:]
        kept = crnn.memory_pool()["bytes"]
        assert kept > 32 << 20
        before = _rss_bytes()
        assert crnn.release_memory() >= kept
        assert before - _rss_bytes() > kept // 2
    finally:
        for pin in pins:
            libc.free(ctypes.c_void_p(pin))


def test_the_pool_limit_comes_from_the_environment(run_python):
    code = "import crnn; print(crnn.memory_pool()['limit'])"
    env = {**os.environ, "CRNN_MEMORY_POOL_LIMIT": "12345"}
    out = run_python("-c", code, env=env)
    assert out.stdout.strip() == "12345", out.stderr
    env["CRNN_MEMORY_POOL_LIMIT"] = "lots"
    out = run_python("-c", code, env=env)
    assert out.returncode != 0 and "CRNN_MEMORY_POOL_LIMIT must be a number of bytes" in out.stderr
