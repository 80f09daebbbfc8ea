/// test_abi_libs.c: shared libraries that get the xentcheck ABI wrong, one per definition.
#include <stdio.h>

#include "xentcheck_abi.h"

#if defined(XENT_TEST_NO_SYMBOLS)
/* Exports something, but none of the ABI's symbols. */
int not_the_xentcheck_abi(void) {
    return 42;
}
#else
#if defined(XENT_TEST_WRONG_VERSION)
int xentcheck_abi_version(void) {
    return 99;
}
#else
int xentcheck_abi_version(void) {
    return XENTCHECK_ABI_VERSION;
}
#endif

/* Prints to stdout (which serve-lib diverts to stderr), reads stdin (which serve-lib replaces by
 * /dev/null: otherwise this blocks, or swallows requests) and refuses every problem. */
static int refuse(char* error, size_t error_size) {
    printf("debug output that must not reach the protocol stream\n");
    fflush(stdout);
    if (getchar() != EOF) return 8;
    snprintf(error, error_size, "refused by the test library");
    return 7;
}

int xentcheck_cross_entropy_f64(const xentcheck_problem_f64* problem,
                                const xentcheck_outputs_f64* outputs, char* error,
                                size_t error_size) {
    (void)problem;
    (void)outputs;
    return refuse(error, error_size);
}

int xentcheck_cross_entropy_f32(const xentcheck_problem_f32* problem,
                                const xentcheck_outputs_f32* outputs, char* error,
                                size_t error_size) {
    (void)problem;
    (void)outputs;
    return refuse(error, error_size);
}
#endif
