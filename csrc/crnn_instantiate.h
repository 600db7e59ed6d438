/*
 * crnn_instantiate.h -- instantiates one template of crnn's loops for double and float.
 *
 * Include it with CRNN_TEMPLATE defined as the template's header, in quotes:
 *     #define CRNN_TEMPLATE "crnn_lstm_impl.h"
 *     #include "crnn_instantiate.h"
 * The template is included twice, seeing CRNN_T (the type) and CRNN_SFX (the suffix of
 * the function names, d or s), and names its functions CRNN_FN(name), which appends the
 * suffix: name_d, name_s.
 */
#include <math.h>

#define CRNN_CAT_(a, b) a##_##b
#define CRNN_CAT(a, b) CRNN_CAT_(a, b)
#define CRNN_FN(name) CRNN_CAT(name, CRNN_SFX)

#define CRNN_T double
#define CRNN_SFX d
#include CRNN_TEMPLATE
#undef CRNN_T
#undef CRNN_SFX

#define CRNN_T float
#define CRNN_SFX s
#include CRNN_TEMPLATE
#undef CRNN_T
#undef CRNN_SFX

#undef CRNN_FN
#undef CRNN_CAT
#undef CRNN_CAT_
#undef CRNN_TEMPLATE
