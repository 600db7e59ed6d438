/* crnn_elementwise.c -- instantiates the elementwise loops for double and float. */
#include "crnn_fastmath.h"

#define CRNN_TEMPLATE "crnn_elementwise_impl.h"
#include "crnn_instantiate.h"
