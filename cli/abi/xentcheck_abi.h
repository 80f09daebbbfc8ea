/// xentcheck_abi.h: the C ABI (version 1) of an implementation that `xentcheck check --lib` runs.
/* Plain C99. docs/abi.md is the full contract: fields, ownership, threading, errors. */
#ifndef XENTCHECK_ABI_H
#define XENTCHECK_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this header. A library reports the version it was built against through
 *  xentcheck_abi_version(); xentcheck refuses a library whose version it does not speak. */
#define XENTCHECK_ABI_VERSION 1

/** Marks the three entry points as exported even under -fvisibility=hidden. */
#if defined(_WIN32)
#define XENTCHECK_ABI_EXPORT __declspec(dllexport)
#else
#define XENTCHECK_ABI_EXPORT __attribute__((visibility("default")))
#endif

/** How row losses are combined (torch.nn.functional.cross_entropy's `reduction`). */
typedef enum xentcheck_reduction {
    XENTCHECK_REDUCTION_NONE = 0, /**< one loss per row: loss[0..N) */
    XENTCHECK_REDUCTION_MEAN = 1, /**< weighted mean: sum_i L_i / divisor, loss[0] */
    XENTCHECK_REDUCTION_SUM = 2   /**< sum_i L_i, loss[0] */
} xentcheck_reduction;

/** Which form the targets take. */
typedef enum xentcheck_target_kind {
    XENTCHECK_TARGET_INDEX = 0, /**< one class index per row (target_index) */
    XENTCHECK_TARGET_PROBS = 1  /**< one probability row per row (target_probs) */
} xentcheck_target_kind;

/** One problem in float64: F.cross_entropy(logits, target, weight, ignore_index, reduction,
 *  label_smoothing) and torch.softmax(logits, 1). All pointers are owned by the caller and valid
 *  only during the call; arrays are contiguous and row-major. */
typedef struct xentcheck_problem_f64 {
    int64_t rows;                /**< N >= 1 */
    int64_t classes;             /**< C >= 1 */
    const double* logits;        /**< N x C logits */
    int32_t target_kind;         /**< an xentcheck_target_kind */
    const int64_t* target_index; /**< N class indices in [0, C) or == ignore_index; else NULL */
    const double* target_probs;  /**< N x C target rows (need not sum to 1); else NULL */
    const double* weight;        /**< C class weights, or NULL for all ones */
    int64_t ignore_index;        /**< rows with this index target are ignored (default -100) */
    double label_smoothing;      /**< in [0, 1]; 0 means none */
    int32_t reduction;           /**< an xentcheck_reduction */
} xentcheck_problem_f64;

/** Caller-allocated outputs in float64. Every element must be written. */
typedef struct xentcheck_outputs_f64 {
    double* probs; /**< N x C: softmax(logits) */
    double* loss;  /**< N values for XENTCHECK_REDUCTION_NONE, else 1 */
    double* grad;  /**< N x C: d loss / d logits (for NONE: of the sum of the row losses) */
} xentcheck_outputs_f64;

/** One problem in float32: as xentcheck_problem_f64 with float arrays. label_smoothing stays a
 *  double, as PyTorch takes it (a Python float). */
typedef struct xentcheck_problem_f32 {
    int64_t rows;                /**< N >= 1 */
    int64_t classes;             /**< C >= 1 */
    const float* logits;         /**< N x C logits */
    int32_t target_kind;         /**< an xentcheck_target_kind */
    const int64_t* target_index; /**< N class indices (INDEX form), else NULL */
    const float* target_probs;   /**< N x C target rows (PROBS form), else NULL */
    const float* weight;         /**< C class weights, or NULL for all ones */
    int64_t ignore_index;        /**< rows with this index target are ignored (default -100) */
    double label_smoothing;      /**< in [0, 1]; 0 means none */
    int32_t reduction;           /**< an xentcheck_reduction */
} xentcheck_problem_f32;

/** Caller-allocated outputs in float32. Every element must be written. */
typedef struct xentcheck_outputs_f32 {
    float* probs; /**< N x C: softmax(logits), computed in float32 */
    float* loss;  /**< N values for XENTCHECK_REDUCTION_NONE, else 1 */
    float* grad;  /**< N x C: d loss / d logits */
} xentcheck_outputs_f32;

/** Returns XENTCHECK_ABI_VERSION as the library was compiled (so 1 for this header). */
XENTCHECK_ABI_EXPORT int xentcheck_abi_version(void);

/** Computes probs, loss and grad of `problem` in float64 into `outputs`. Returns 0 on success.
 *  On failure (for instance an input it rejects) returns non-zero and writes a NUL-terminated
 *  message of at most error_size bytes (error_size >= 1) into `error`. Called from one thread
 *  at a time. */
XENTCHECK_ABI_EXPORT int xentcheck_cross_entropy_f64(const xentcheck_problem_f64* problem,
                                                     const xentcheck_outputs_f64* outputs,
                                                     char* error, size_t error_size);

/** The float32 entry point: as xentcheck_cross_entropy_f64, computing in float32. */
XENTCHECK_ABI_EXPORT int xentcheck_cross_entropy_f32(const xentcheck_problem_f32* problem,
                                                     const xentcheck_outputs_f32* outputs,
                                                     char* error, size_t error_size);

/** Pointer types of the entry points, for dlsym. */
typedef int (*xentcheck_abi_version_fn)(void);
typedef int (*xentcheck_cross_entropy_f64_fn)(const xentcheck_problem_f64*,
                                              const xentcheck_outputs_f64*, char*, size_t);
typedef int (*xentcheck_cross_entropy_f32_fn)(const xentcheck_problem_f32*,
                                              const xentcheck_outputs_f32*, char*, size_t);

#ifdef __cplusplus
}
#endif

#endif /* XENTCHECK_ABI_H */
