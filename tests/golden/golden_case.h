/// tests/golden/golden_case.h: the golden cases (PyTorch's values) parsed for the golden tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::golden {

/// One case of fixtures/golden/pytorch_golden.json: the problem and PyTorch's values. The
/// parser here is the test's own (a subset of docs/case-format.md: logits, index or
/// probability targets, the options, expect.{probs,loss,grad}); it does not use the CLI.
struct golden_case {
    std::string name;                   ///< the case's "name"
    std::string error;                  ///< why the case could not be parsed (empty if it was)
    std::size_t rows = 0;               ///< N (1 for a 1-D case)
    std::size_t classes = 0;            ///< C
    std::vector<double> logits;         ///< N x C, row-major
    bool index_target = true;           ///< class indices, or probability rows
    std::vector<std::int64_t> indices;  ///< N class indices (index form)
    std::vector<double> target_probs;   ///< N x C target probabilities (probability form)
    std::vector<double> weight;         ///< C class weights, or empty
    std::int64_t ignore_index = -100;   ///< PyTorch's default
    double label_smoothing = 0;         ///< eps in [0, 1]
    xentcheck::reduction reduction = xentcheck::reduction::mean;  ///< how rows are combined
    std::vector<double> expect_probs;                             ///< PyTorch's softmax, N x C
    std::vector<double> expect_loss;  ///< PyTorch's loss: N values (none) or 1
    std::vector<double> expect_grad;  ///< PyTorch's autograd gradient, N x C

    /// The targets as the reference takes them (views into this object).
    target_view target() const;
    /// The options as the reference takes them (the weight is a view into this object).
    cross_entropy_options options() const;
};

/// Reads every case of a golden file. Throws std::runtime_error when the file cannot be read
/// or is not {"cases": [...]}; a malformed case is returned with `error` set.
std::vector<golden_case> load_golden_file(const std::string& path);

/// The outcome of comparing PyTorch's values with the reference for one case.
struct golden_comparison {
    check_result probs;  ///< expect.probs against the reference softmax
    check_result loss;   ///< expect.loss against the reference loss
    check_result grad;   ///< expect.grad against the reference gradient
    /// Whether all three agree.
    bool passed() const { return probs.passed && loss.passed && grad.passed; }
};

/// Computes the reference for `c` with cross_entropy<T> and compares PyTorch's values with it
/// under the tolerance model for float64 values (unit roundoff 2^-53): probabilities and loss
/// relative to |reference|, gradient entries relative to grad_magnitudes. Non-finite reference
/// values must be matched exactly.
template <class T>
golden_comparison compare_with_reference(const golden_case& c);

/// A readable account of a failed check (its findings), for test failure messages.
std::string describe(const check_result& r);

}  // namespace xentcheck::golden
