# cython: language_level=3
"""The per-step loops of every cell (``csrc/crnn_<cell>.h``), dispatched on ``floating``:
what the engine's driver (``_engine.pyx``) calls between its products. Each extension
that cimports this compiles the cells' C files in (see ``setup.py``).
"""
from cython cimport floating
from libc.stddef cimport ptrdiff_t


# --- the vanilla RNN ------------------------------------------------------------------

cdef extern from "crnn_elementwise.h" nogil:
    void crnn_rnn_grad_d(double *dz, ptrdiff_t ldz, const double *da, ptrdiff_t ldd,
                         const double *flow, const double *a, ptrdiff_t lda, ptrdiff_t n,
                         ptrdiff_t ncols, int relu)
    void crnn_rnn_grad_s(float *dz, ptrdiff_t ldz, const float *da, ptrdiff_t ldd,
                         const float *flow, const float *a, ptrdiff_t lda, ptrdiff_t n,
                         ptrdiff_t ncols, int relu)


cdef inline void rnn_grad(floating *dz, Py_ssize_t ldz, const floating *da, Py_ssize_t ldd,
                          const floating *flow, const floating *a, Py_ssize_t lda,
                          Py_ssize_t n, Py_ssize_t m, bint relu) noexcept nogil:
    if floating is double:
        crnn_rnn_grad_d(dz, ldz, da, ldd, flow, a, lda, n, m, relu)
    else:
        crnn_rnn_grad_s(dz, ldz, da, ldd, flow, a, lda, n, m, relu)


# --- the LSTM -------------------------------------------------------------------------

cdef extern from "crnn_lstm.h" nogil:
    void crnn_lstm_gates_d(double *g, ptrdiff_t ldg, const double *b, const double *c_prev,
                           ptrdiff_t ldp, double *c, double *a, ptrdiff_t ld, ptrdiff_t n,
                           ptrdiff_t ncols)
    void crnn_lstm_gates_s(float *g, ptrdiff_t ldg, const float *b, const float *c_prev,
                           ptrdiff_t ldp, float *c, float *a, ptrdiff_t ld, ptrdiff_t n,
                           ptrdiff_t ncols)
    void crnn_lstm_gates_grad_d(double *dg, const double *g, ptrdiff_t ldg, double *dc,
                                const double *flow, const double *da, ptrdiff_t ldd,
                                const double *c, ptrdiff_t ldc, const double *c_prev,
                                ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_lstm_gates_grad_s(float *dg, const float *g, ptrdiff_t ldg, float *dc,
                                const float *flow, const float *da, ptrdiff_t ldd,
                                const float *c, ptrdiff_t ldc, const float *c_prev,
                                ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)


cdef inline void lstm_gates(floating *g, Py_ssize_t ldg, const floating *b,
                            const floating *c_prev, Py_ssize_t ldp, floating *c, floating *a,
                            Py_ssize_t ld, Py_ssize_t n, Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_d(g, ldg, b, c_prev, ldp, c, a, ld, n, ncols)
    else:
        crnn_lstm_gates_s(g, ldg, b, c_prev, ldp, c, a, ld, n, ncols)


cdef inline void lstm_gates_grad(floating *dg, const floating *g, Py_ssize_t ldg,
                                 floating *dc, const floating *flow, const floating *da,
                                 Py_ssize_t ldd, const floating *c, Py_ssize_t ldc,
                                 const floating *c_prev, Py_ssize_t ldp, Py_ssize_t n,
                                 Py_ssize_t ncols) noexcept nogil:
    if floating is double:
        crnn_lstm_gates_grad_d(dg, g, ldg, dc, flow, da, ldd, c, ldc, c_prev, ldp, n, ncols)
    else:
        crnn_lstm_gates_grad_s(dg, g, ldg, dc, flow, da, ldd, c, ldc, c_prev, ldp, n, ncols)


# --- the GRU --------------------------------------------------------------------------

cdef extern from "crnn_gru.h" nogil:
    void crnn_gru_gates_d(double *g, ptrdiff_t ldg, const double *b, const double *a_prev,
                          ptrdiff_t ldp, double *ra, ptrdiff_t ldr, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_gates_s(float *g, ptrdiff_t ldg, const float *b, const float *a_prev,
                          ptrdiff_t ldp, float *ra, ptrdiff_t ldr, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_state_d(double *g, ptrdiff_t ldg, const double *b, const double *a_prev,
                          ptrdiff_t ldp, double *a, ptrdiff_t lda, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_state_s(float *g, ptrdiff_t ldg, const float *b, const float *a_prev,
                          ptrdiff_t ldp, float *a, ptrdiff_t lda, ptrdiff_t n,
                          ptrdiff_t ncols)
    void crnn_gru_after_d(double *g, ptrdiff_t ldg, const double *h, const double *b,
                          const double *bca, const double *a_prev, ptrdiff_t ldp,
                          double *hc, ptrdiff_t ldhc, double *a, ptrdiff_t lda,
                          ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_after_s(float *g, ptrdiff_t ldg, const float *h, const float *b,
                          const float *bca, const float *a_prev, ptrdiff_t ldp,
                          float *hc, ptrdiff_t ldhc, float *a, ptrdiff_t lda,
                          ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_before_d(double *dz, ptrdiff_t ldz, const double *g, ptrdiff_t ldg,
                                const double *da, ptrdiff_t ldd, double *flow,
                                const double *a_prev, ptrdiff_t ldp, ptrdiff_t n,
                                ptrdiff_t ncols)
    void crnn_gru_grad_before_s(float *dz, ptrdiff_t ldz, const float *g, ptrdiff_t ldg,
                                const float *da, ptrdiff_t ldd, float *flow,
                                const float *a_prev, ptrdiff_t ldp, ptrdiff_t n,
                                ptrdiff_t ncols)
    void crnn_gru_grad_reset_d(double *dz, ptrdiff_t ldz, const double *g, ptrdiff_t ldg,
                               const double *dra, double *flow, const double *a_prev,
                               ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_reset_s(float *dz, ptrdiff_t ldz, const float *g, ptrdiff_t ldg,
                               const float *dra, float *flow, const float *a_prev,
                               ptrdiff_t ldp, ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_after_d(double *dz, ptrdiff_t ldz, double *dh, ptrdiff_t ldh,
                               const double *g, ptrdiff_t ldg, const double *da,
                               ptrdiff_t ldd, double *flow, const double *a_prev,
                               ptrdiff_t ldp, const double *hc, ptrdiff_t ldhc,
                               ptrdiff_t n, ptrdiff_t ncols)
    void crnn_gru_grad_after_s(float *dz, ptrdiff_t ldz, float *dh, ptrdiff_t ldh,
                               const float *g, ptrdiff_t ldg, const float *da,
                               ptrdiff_t ldd, float *flow, const float *a_prev,
                               ptrdiff_t ldp, const float *hc, ptrdiff_t ldhc,
                               ptrdiff_t n, ptrdiff_t ncols)


cdef inline void gru_gates(floating *g, Py_ssize_t ldg, const floating *b,
                           const floating *a_prev, Py_ssize_t ldp, floating *ra,
                           Py_ssize_t ldr, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_gates_d(g, ldg, b, a_prev, ldp, ra, ldr, n, m)
    else:
        crnn_gru_gates_s(g, ldg, b, a_prev, ldp, ra, ldr, n, m)


cdef inline void gru_state(floating *g, Py_ssize_t ldg, const floating *b,
                           const floating *a_prev, Py_ssize_t ldp, floating *a,
                           Py_ssize_t lda, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_state_d(g, ldg, b, a_prev, ldp, a, lda, n, m)
    else:
        crnn_gru_state_s(g, ldg, b, a_prev, ldp, a, lda, n, m)


cdef inline void gru_after(floating *g, Py_ssize_t ldg, const floating *h, const floating *b,
                           const floating *bca, const floating *a_prev, Py_ssize_t ldp,
                           floating *hc, Py_ssize_t ldhc, floating *a, Py_ssize_t lda,
                           Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_after_d(g, ldg, h, b, bca, a_prev, ldp, hc, ldhc, a, lda, n, m)
    else:
        crnn_gru_after_s(g, ldg, h, b, bca, a_prev, ldp, hc, ldhc, a, lda, n, m)


cdef inline void gru_grad_before(floating *dz, Py_ssize_t ldz, const floating *g,
                                 Py_ssize_t ldg, const floating *da, Py_ssize_t ldd,
                                 floating *flow, const floating *a_prev, Py_ssize_t ldp,
                                 Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_before_d(dz, ldz, g, ldg, da, ldd, flow, a_prev, ldp, n, m)
    else:
        crnn_gru_grad_before_s(dz, ldz, g, ldg, da, ldd, flow, a_prev, ldp, n, m)


cdef inline void gru_grad_reset(floating *dz, Py_ssize_t ldz, const floating *g,
                                Py_ssize_t ldg, const floating *dra, floating *flow,
                                const floating *a_prev, Py_ssize_t ldp, Py_ssize_t n,
                                Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_reset_d(dz, ldz, g, ldg, dra, flow, a_prev, ldp, n, m)
    else:
        crnn_gru_grad_reset_s(dz, ldz, g, ldg, dra, flow, a_prev, ldp, n, m)


cdef inline void gru_grad_after(floating *dz, Py_ssize_t ldz, floating *dh, Py_ssize_t ldh,
                                const floating *g, Py_ssize_t ldg, const floating *da,
                                Py_ssize_t ldd, floating *flow, const floating *a_prev,
                                Py_ssize_t ldp, const floating *hc, Py_ssize_t ldhc,
                                Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    if floating is double:
        crnn_gru_grad_after_d(dz, ldz, dh, ldh, g, ldg, da, ldd, flow, a_prev, ldp, hc,
                              ldhc, n, m)
    else:
        crnn_gru_grad_after_s(dz, ldz, dh, ldh, g, ldg, da, ldd, flow, a_prev, ldp, hc,
                              ldhc, n, m)
