# cython: language_level=3
"""The recurrence engine's driver (``_engine.pyx``), for the kernels of every cell.

A cell is described to the driver by a ``Recurrence``: its kind, its sizes, its input and
its weights as BLAS operands; the buffers of a pass by a ``Forward`` or a ``Backward``.
Every pointer is to data of the pass's dtype, which ``typenum`` gives; every buffer is in
the kernels' layout (``_arrays.pxd``) unless said otherwise.
"""
from crnn._arrays cimport Operand
from crnn._blas cimport blas_int


cdef enum:
    # the cells the driver runs, and the gates (rows of the packed weight per unit) of each
    RNN_TANH
    RNN_RELU
    LSTM
    GRU        # the lecture's: the reset gate inside the candidate's product
    GRU_AFTER  # PyTorch's: the reset gate after it


cdef enum:
    # the bytes of da's steps the backward pass gathers at a time: a cache line of a
    # C-ordered da holds that many bytes of consecutive steps
    BLOCK_BYTES = 64


cdef struct Recurrence:
    int kind
    blas_int n_x, n_a, n_y, m, T
    blas_int rows          # gates · n_a: 1, 4 or 3 times n_a
    Operand x              # the input (n_x × m·T)
    Operand a0             # the state before the first step (n_a × m); Fortran-ordered for
                           # the GRU, and with lengths or reverse
    Operand Wx             # the input part of the weights (rows × n_x)
    Operand Wa             # the recurrent part (rows × n_a)
    const void *b          # the bias (rows)
    const void *bca        # GRU_AFTER: the candidate's recurrent bias (n_a)
    Operand Wy             # the output layer (n_y × n_a) and its bias (n_y)
    const void *by
    const Py_ssize_t *lengths  # NULL, or each example's steps L_j (m), non-increasing
    const Py_ssize_t *active   # with lengths: the examples that run step t (T)
    Py_ssize_t steps       # with lengths: the steps run, their sum
    void *work             # with lengths: work space for the products over the steps
                           # run, gathered side by side
    bint reverse           # time runs from each example's last step down to step 0


cdef struct Forward:
    void *gates            # rows × m·T: every gate of every step (the RNN: a itself)
    void *a                # n_a × m·T
    void *c                # LSTM: the cell states, n_a × m·T
    const void *c0         # LSTM: the cell state before step 0, Fortran-ordered (n_a × m)
    void *aux              # GRU: r*a_prev, GRU_AFTER: Wca·a_prev + bca, n_a × m·T
    void *y                # n_y × m·T
    void *h                # GRU_AFTER: work space, rows × m
    void *wa_f             # NULL, or rows × n_a work space for a Fortran-ordered copy of a
                           # C-ordered Wa, where the per-step products are faster on it


cdef struct Backward:
    const void *da         # n_a × m × T with element strides ds
    Py_ssize_t ds[3]
    const void *gates      # the forward's (rows × m·T; the RNN: a)
    const void *a
    const void *c          # LSTM
    const void *c0         # LSTM, Fortran-ordered
    const void *c_prev     # LSTM: NULL (c0 then c shifted by one step) or n_a × m·T
    const void *a_prev     # NULL (a0 then a shifted by one step) or n_a × m·T
    const void *aux        # GRU
    void *dz               # rows × m·T work space: the gates' pre-activation gradients
                           # (GRU_AFTER: those of the products with a_{t-1})
    void *dh               # GRU_AFTER: n_a × m·T work space, the candidate's input side
    void *dra              # GRU: n_a × m work space
    void *da_block         # n_a × m·block work space for block steps of da at a time;
                           # the RNN's may be dz itself, with block = T
    Py_ssize_t block
    void *dx               # n_x × m·T
    void *da0              # n_a × m, contiguous: the flow between steps, then da0
    void *dc0              # LSTM: n_a × m, contiguous: the last dc on entry, dc0 on exit
    void *dWx              # C-ordered rows × n_x gradient, rows ld_wx apart
    blas_int ld_wx
    void *dWa              # C-ordered rows × n_a gradient, rows ld_wa apart
    blas_int ld_wa
    void *db               # rows
    void *dbca             # GRU_AFTER: n_a


cdef void run_forward(int typenum, const Recurrence *r, const Forward *f) noexcept nogil
cdef void run_backward(int typenum, const Recurrence *r, const Backward *bk) noexcept nogil
