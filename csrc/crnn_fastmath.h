/*
 * crnn_fastmath.h -- what crnn's branch-free tanh and exp need before their template,
 * crnn_fastmath_impl.h: the constants of each floating format, the macro that builds a
 * loop for several CPUs, and forced inlining.
 *
 * tanh and exp are computed by crnn's own branch-free code rather than one libm call per
 * element, so that compilers vectorise the loops that use them. Where the compiler can
 * build several versions of a function and pick one when the library is loaded (gcc or
 * clang on x86-64 with glibc's ifunc), those loops are built for AVX-512 and AVX2 as well
 * as for the baseline: the CPU is chosen at run time, never at build time.
 */
#ifndef CRNN_FASTMATH_H
#define CRNN_FASTMATH_H

#include <stdint.h>
#include <string.h>
#include "crnn_elementwise.h"

/* x86-64-v4 is AVX-512 (F, BW, CD, DQ, VL), v3 AVX2 with FMA; the resolver tests CPU
   features, not CPU models, so every CPU that has them gets them. The resolver is an
   ifunc, which glibc has and musl has not. The constants below are decimal, not hex
   floats, which older MSVC C compilers reject; each reads back to the value its comment
   gives in hex. */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(CRNN_NO_CLONES) && \
    ((defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12) ||           \
     (defined(__clang__) && __clang_major__ >= 14))
#  define CRNN_CLONES \
       __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#  define CRNN_CLONES
#endif

/* the helpers of a loop must be inlined into it, or it cannot be vectorised */
#if defined(_MSC_VER)
#  define CRNN_INLINE static __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#  define CRNN_INLINE static inline __attribute__((always_inline))
#else
#  define CRNN_INLINE static inline
#endif

/* 1/k! for k = 2 ... 13 (the Taylor series of expm1), and the series' Horner steps */
#define CRNN_F2 (1.0 / 2)
#define CRNN_F3 (1.0 / 6)
#define CRNN_F4 (1.0 / 24)
#define CRNN_F5 (1.0 / 120)
#define CRNN_F6 (1.0 / 720)
#define CRNN_F7 (1.0 / 5040)
#define CRNN_F8 (1.0 / 40320)
#define CRNN_F9 (1.0 / 362880)
#define CRNN_F10 (1.0 / 3628800)
#define CRNN_F11 (1.0 / 39916800)
#define CRNN_F12 (1.0 / 479001600)
#define CRNN_F13 (1.0 / 6227020800.0)
#define CRNN_H(T, r, c, rest) ((T)(c) + (r) * (rest))

/* the format of each type, named by the suffix of its functions (CRNN_FMT in the template) */
#define CRNN_UINT_d uint64_t
#define CRNN_FABS_d fabs
#define CRNN_COPYSIGN_d copysign
#define CRNN_MANT_BITS_d 52
#define CRNN_EXP_BIAS_d 1023
#define CRNN_SHIFTER_d 6755399441055744.0 /* 0x1.8p52: x + shifter - shifter rounds x */
#define CRNN_LN2_HI_d 0.6931471803691238 /* 0x1.62e42fee00000p-1: ln 2 = hi + lo, k*hi exact for |k| < 2^11 */
#define CRNN_LN2_LO_d 1.9082149292705877e-10 /* 0x1.a39ef35793c76p-33 */
#define CRNN_LOG2E_d 1.4426950408889634 /* 0x1.71547652b82fep0 */
/* expm1(r) = r + r^2 * series(r), Taylor to r^13: truncation below 2^-56 relative */
#define CRNN_EXPM1_SERIES_d(r)                                                          \
    CRNN_H(double, r, CRNN_F2, CRNN_H(double, r, CRNN_F3, CRNN_H(double, r, CRNN_F4,     \
    CRNN_H(double, r, CRNN_F5, CRNN_H(double, r, CRNN_F6, CRNN_H(double, r, CRNN_F7,     \
    CRNN_H(double, r, CRNN_F8, CRNN_H(double, r, CRNN_F9, CRNN_H(double, r, CRNN_F10,    \
    CRNN_H(double, r, CRNN_F11, CRNN_H(double, r, CRNN_F12, CRNN_F13)))))))))))
#define CRNN_TANH_SATURATE_d 20.0         /* 1 - tanh(20) < 2^-54: tanh rounds to 1 */
#define CRNN_EXP_MIN_d -746.0             /* exp(-746) rounds to 0 */

#define CRNN_UINT_s uint32_t
#define CRNN_FABS_s fabsf
#define CRNN_COPYSIGN_s copysignf
#define CRNN_MANT_BITS_s 23
#define CRNN_EXP_BIAS_s 127
#define CRNN_SHIFTER_s 12582912.0f /* 0x1.8p23 */
#define CRNN_LN2_HI_s 0.6931381f /* 0x1.62e300p-1 */
#define CRNN_LN2_LO_s 9.058001e-06f /* 0x1.2fefa2p-17 */
#define CRNN_LOG2E_s 1.442695f /* 0x1.715476p0 */
/* expm1(r) = r + r^2 * series(r), Taylor to r^8: truncation below 2^-26 relative */
#define CRNN_EXPM1_SERIES_s(r)                                                          \
    CRNN_H(float, r, CRNN_F2, CRNN_H(float, r, CRNN_F3, CRNN_H(float, r, CRNN_F4,        \
    CRNN_H(float, r, CRNN_F5, CRNN_H(float, r, CRNN_F6, CRNN_H(float, r, CRNN_F7,        \
    (float)CRNN_F8))))))
#define CRNN_TANH_SATURATE_s 9.0f         /* 1 - tanhf(9) < 2^-25: tanhf rounds to 1 */
#define CRNN_EXP_MIN_s -104.0f            /* expf(-104) rounds to 0 */

/* CRNN_FMT(SHIFTER) is CRNN_SHIFTER_d or CRNN_SHIFTER_s, by the type being instantiated */
#define CRNN_FMT(name) CRNN_FN(CRNN_##name)

#endif /* CRNN_FASTMATH_H */
