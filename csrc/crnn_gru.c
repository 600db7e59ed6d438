/* crnn_gru.c -- instantiates the GRU's per-step loops for double and float. */
#include "crnn_fastmath.h"
#include "crnn_gru.h"

#define CRNN_TEMPLATE "crnn_gru_impl.h"
#include "crnn_instantiate.h"
