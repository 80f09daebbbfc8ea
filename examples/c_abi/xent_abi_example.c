/// xent_abi_example.c: a correct C99 implementation of xentcheck_abi.h, float32 and float64.
/* Build: cc -std=c99 -O2 -fPIC -shared -I<xentcheck>/cli/abi xent_abi_example.c -lm
 *        -o libxentcheck_example_abi.so
 * Test:  xentcheck check --lib ./libxentcheck_example_abi.so
 * Compile definitions plant faults for xentcheck's own tests: XENT_BUG_GRAD_WRT_PROBS returns
 * dE/dp instead of dE/dz; XENT_CRASH_ABOVE_CLASSES=7 raises SIGSEGV when C > 7. */
#include <math.h>
#include <signal.h>
#include <stdio.h>

#include "xentcheck_abi.h"

/* Writes `message` into the caller's buffer and returns the error code 1. */
static int report(char* error, size_t error_size, const char* message) {
    if (error && error_size > 0) snprintf(error, error_size, "%s", message);
    return 1;
}

/* Checks what does not depend on the precision; returns an error message or NULL. */
static const char* validate_common(int64_t rows, int64_t classes, int has_logits,
                                   int32_t target_kind, int has_index, int has_probs,
                                   double label_smoothing, int32_t reduction, int has_outputs) {
    if (rows < 1 || classes < 1) return "rows and classes must be at least 1";
    if (!has_logits || !has_outputs) return "a required pointer is NULL";
    if (target_kind == XENTCHECK_TARGET_INDEX ? !has_index
                                              : target_kind != XENTCHECK_TARGET_PROBS || !has_probs)
        return "the targets are missing or of an unknown kind";
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
        return "label_smoothing must be in [0, 1]";
    if (reduction < XENTCHECK_REDUCTION_NONE || reduction > XENTCHECK_REDUCTION_SUM)
        return "unknown reduction";
    return NULL;
}

int xentcheck_abi_version(void) {
    return XENTCHECK_ABI_VERSION;
}

#define REAL double
#define SUFFIX f64
#define EXP exp
#define LOG log
#include "xent_kernel.inc"
#undef REAL
#undef SUFFIX
#undef EXP
#undef LOG

#define REAL float
#define SUFFIX f32
#define EXP expf
#define LOG logf
#include "xent_kernel.inc"
#undef REAL
#undef SUFFIX
#undef EXP
#undef LOG
