/* crnn_lstm.c -- instantiates the LSTM gate loops for double and float. */
#include <math.h>
#include "crnn_lstm.h"

#define CRNN_T double
#define CRNN_SFX d
#define CRNN_TANH tanh
#define CRNN_EXP exp
#include "crnn_lstm_impl.h"
#undef CRNN_T
#undef CRNN_SFX
#undef CRNN_TANH
#undef CRNN_EXP

#define CRNN_T float
#define CRNN_SFX s
#define CRNN_TANH tanhf
#define CRNN_EXP expf
#include "crnn_lstm_impl.h"
#undef CRNN_T
#undef CRNN_SFX
#undef CRNN_TANH
#undef CRNN_EXP
