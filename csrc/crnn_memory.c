/* crnn_memory.c -- the pool of freed large blocks behind crnn's numpy memory handler. */
#include <stdlib.h>
#include <string.h>
#include "crnn_memory.h"

#if defined(_WIN32)
#  include <windows.h>
static SRWLOCK pool_lock = SRWLOCK_INIT;
#  define POOL_LOCK() AcquireSRWLockExclusive(&pool_lock)
#  define POOL_UNLOCK() ReleaseSRWLockExclusive(&pool_lock)
int crnn_pool_init(void)
{
    return 0;
}
#else
#  include <pthread.h>
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
#  define POOL_LOCK() pthread_mutex_lock(&pool_lock)
#  define POOL_UNLOCK() pthread_mutex_unlock(&pool_lock)

/* fork() holds the lock, so that a child never starts with it held by a thread it lacks */
static void lock_for_fork(void)
{
    POOL_LOCK();
}

static void unlock_after_fork(void)
{
    POOL_UNLOCK();
}

int crnn_pool_init(void)
{
    return pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}
#endif

#if defined(__linux__)
#  include <sys/mman.h>
#  include <stdint.h>
#endif
#if defined(__GLIBC__)
#  include <malloc.h>
#endif

typedef struct {
    void *ptr;           /* NULL: the slot is empty */
    size_t size;         /* the bytes numpy freed it with (at most its true size) */
    size_t stamp;  /* when it was kept: the oldest goes first */
} crnn_block;

/* all guarded by pool_lock */
static crnn_block pool[CRNN_POOL_SLOTS];
static size_t pool_bytes;
static size_t pool_limit = (size_t)1 << 30;
static size_t pool_clock;

/* Give back the oldest kept block (the pool must not be empty); returns its pointer, which
   the caller frees once the lock is released. */
static void *evict_oldest(void)
{
    int k, oldest = -1;
    void *ptr;
    for (k = 0; k < CRNN_POOL_SLOTS; ++k) {
        if (pool[k].ptr != NULL && (oldest < 0 || pool[k].stamp < pool[oldest].stamp)) {
            oldest = k;
        }
    }
    ptr = pool[oldest].ptr;
    pool_bytes -= pool[oldest].size;
    pool[oldest].ptr = NULL;
    return ptr;
}

/* The smallest kept block of at least size bytes and at most a third more, taken out of
   the pool; NULL if there is none. */
static void *take(size_t size)
{
    int k, best = -1;
    void *ptr = NULL;
    if (size < CRNN_POOL_MIN_BYTES) {
        return NULL;
    }
    POOL_LOCK();
    for (k = 0; k < CRNN_POOL_SLOTS; ++k) {
        if (pool[k].ptr != NULL && pool[k].size >= size && pool[k].size - size <= size / 3 &&
            (best < 0 || pool[k].size < pool[best].size)) {
            best = k;
        }
    }
    if (best >= 0) {
        ptr = pool[best].ptr;
        pool_bytes -= pool[best].size;
        pool[best].ptr = NULL;
    }
    POOL_UNLOCK();
    return ptr;
}

/* Fresh memory from the system; on Linux, large blocks are advised to be backed by huge
   pages, as numpy's own allocator does (fewer page faults and TLB misses). */
static void *fresh(size_t size)
{
    void *ptr = malloc(size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (ptr != NULL && size >= ((size_t)1 << 22)) {
        const uintptr_t page = (uintptr_t)1 << 12;
        uintptr_t start = ((uintptr_t)ptr + page - 1) & ~(page - 1);
        uintptr_t end = ((uintptr_t)ptr + size) & ~(page - 1);
        if (end > start) {
            madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice only: may fail */
        }
    }
#endif
    return ptr;
}

void *crnn_pool_malloc(void *ctx, size_t size)
{
    void *ptr = take(size);
    (void)ctx;
    return ptr != NULL ? ptr : fresh(size);
}

void *crnn_pool_calloc(void *ctx, size_t nelem, size_t elsize)
{
    void *ptr;
    (void)ctx;
    if (elsize != 0 && nelem > (size_t)-1 / elsize) {
        return NULL;
    }
    ptr = take(nelem * elsize);
    if (ptr == NULL) {
        return calloc(nelem, elsize); /* fresh pages are zero already */
    }
    memset(ptr, 0, nelem * elsize);
    return ptr;
}

void *crnn_pool_realloc(void *ctx, void *ptr, size_t new_size)
{
    (void)ctx;
    return realloc(ptr, new_size); /* every block came from malloc, kept or not */
}

void crnn_pool_free(void *ctx, void *ptr, size_t size)
{
    void *evicted[CRNN_POOL_SLOTS];
    int k, nevicted = 0, kept = 0;
    (void)ctx;
    if (ptr == NULL) {
        return;
    }
    if (size >= CRNN_POOL_MIN_BYTES) {
        POOL_LOCK();
        if (size <= pool_limit) {
            for (;;) {
                for (k = 0; k < CRNN_POOL_SLOTS && pool[k].ptr != NULL; ++k) {
                }
                if (k < CRNN_POOL_SLOTS && pool_bytes + size <= pool_limit) {
                    break;
                }
                evicted[nevicted++] = evict_oldest();
            }
            pool[k].ptr = ptr;
            pool[k].size = size;
            pool[k].stamp = ++pool_clock;
            pool_bytes += size;
            kept = 1;
        }
        POOL_UNLOCK();
    }
    for (k = 0; k < nevicted; ++k) {
        free(evicted[k]);
    }
    if (!kept) {
        free(ptr);
    }
}

size_t crnn_pool_bytes(void)
{
    size_t bytes;
    POOL_LOCK();
    bytes = pool_bytes;
    POOL_UNLOCK();
    return bytes;
}

size_t crnn_pool_blocks(void)
{
    size_t count = 0;
    int k;
    POOL_LOCK();
    for (k = 0; k < CRNN_POOL_SLOTS; ++k) {
        count += pool[k].ptr != NULL;
    }
    POOL_UNLOCK();
    return count;
}

size_t crnn_pool_limit(void)
{
    size_t limit;
    POOL_LOCK();
    limit = pool_limit;
    POOL_UNLOCK();
    return limit;
}

/* Lower the kept bytes to at most limit; the blocks given back go to evicted[], their
   count is returned. Called with the lock held. */
static int shrink_to(size_t limit, void **evicted)
{
    int nevicted = 0;
    while (pool_bytes > limit) {
        evicted[nevicted++] = evict_oldest();
    }
    return nevicted;
}

size_t crnn_pool_set_limit(size_t limit)
{
    void *evicted[CRNN_POOL_SLOTS];
    int k, nevicted;
    size_t former;
    POOL_LOCK();
    former = pool_limit;
    pool_limit = limit;
    nevicted = shrink_to(limit, evicted);
    POOL_UNLOCK();
    for (k = 0; k < nevicted; ++k) {
        free(evicted[k]);
    }
    return former;
}

size_t crnn_pool_release(void)
{
    void *evicted[CRNN_POOL_SLOTS];
    int k, nevicted;
    size_t bytes;
    POOL_LOCK();
    bytes = pool_bytes;
    nevicted = shrink_to(0, evicted);
    POOL_UNLOCK();
    for (k = 0; k < nevicted; ++k) {
        free(evicted[k]);
    }
#if defined(__GLIBC__)
    /* glibc keeps freed heap memory for its next allocations: hand it to the system */
    malloc_trim(0);
#endif
    return bytes;
}
