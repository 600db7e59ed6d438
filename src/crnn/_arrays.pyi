"""Types of the compiled module crnn._arrays (src/crnn/_arrays.pyx).

It has no Python API: its checks of the kernels' arrays are C functions that crnn._rnn
and crnn._lstm cimport (src/crnn/_arrays.pxd).
"""
