/* crnn_lstm.c -- instantiates the LSTM gate loops for double and float. */
#include "crnn_fastmath.h"
#include "crnn_lstm.h"

#define CRNN_TEMPLATE "crnn_lstm_impl.h"
#include "crnn_instantiate.h"
