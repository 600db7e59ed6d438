/*
 * crnn_memory.h -- the memory of crnn's large arrays, kept when numpy frees them and
 * handed to crnn's next arrays of about the same size.
 *
 * A training loop allocates the same large arrays at every step (the states, the LSTM's
 * gates, dx, ...) and drops them a step later. Fresh memory from the system comes as
 * pages the kernel zeroes on first touch, at every step: for the LSTM at medium size that
 * was 10-20% of a forward pass. The four crnn_pool_* allocation functions are those of a
 * numpy memory handler (NEP 49) that crnn installs around its own large allocations only
 * (crnn/_arrays.pyx); every other array keeps numpy's default. At most
 * CRNN_POOL_SLOTS blocks, and no more bytes than the limit, are kept.
 */
#ifndef CRNN_MEMORY_H
#define CRNN_MEMORY_H

#include <stddef.h>

/* blocks smaller than this go straight back to the system (its heap recycles them) */
#define CRNN_POOL_MIN_BYTES ((size_t)1 << 18)
#define CRNN_POOL_SLOTS 32

/* once, before the pool is used: makes fork() safe (0, or an error number) */
int crnn_pool_init(void);

/* the allocator of numpy's PyDataMemAllocator; ctx is unused */
void *crnn_pool_malloc(void *ctx, size_t size);
void *crnn_pool_calloc(void *ctx, size_t nelem, size_t elsize);
void *crnn_pool_realloc(void *ctx, void *ptr, size_t new_size);
void crnn_pool_free(void *ctx, void *ptr, size_t size);

/* the bytes and blocks kept now */
size_t crnn_pool_bytes(void);
size_t crnn_pool_blocks(void);
/* the most bytes kept */
size_t crnn_pool_limit(void);
/* set the most bytes kept, giving back what is above it; returns the former limit */
size_t crnn_pool_set_limit(size_t limit);
/* give every kept block back to the system; returns the bytes given back */
size_t crnn_pool_release(void);

#endif /* CRNN_MEMORY_H */
