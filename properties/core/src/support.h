/// Internal helpers shared by the property implementations.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/properties/properties.h"

namespace xentcheck::properties::detail {

/// Unit roundoff of long double (x87 extended): the precision of values properties compute
/// themselves. Their own rounding is bounded by safety * count * u_ld * magnitude.
inline constexpr long double u_long_double = 0x1p-64L;

/// An implementation's outputs for one problem, shared with the implementation's memory.
using answer = std::shared_ptr<const outputs>;

/// Evaluates `impl` on `p` into `out` (evaluate_shared()) and checks the output sizes. Returns a
/// failing verdict when the implementation throws or returns the wrong number of values.
std::optional<verdict> evaluate(implementation& impl, const problem& p, answer& out,
                                const char* what = "the problem");

/// As evaluate(), for a problem derived from the one checked (shifted, permuted, one row
/// alone): asked through evaluate_batch(), so the implementation does not remember the answer.
/// Each such problem is asked once, and remembering an (8, 128000) answer would take memory
/// from the problems that properties share.
std::optional<verdict> evaluate_once(implementation& impl, const problem& q, answer& out,
                                     const char* what);

/// The verdict of lib check results: passes when all passed, else describes the first
/// failures (value, expected, actual, error, bound).
verdict from_checks(const std::vector<check_result>& results);

/// Formats up to a few findings of a failed check.
std::string describe(const check_result& r);

/// Whether row i has a finite logit (rows made only of -inf are undefined: NaN outputs).
std::vector<bool> defined_rows(const problem& p);

/// The rows of a row-major N x `columns` array selected by `keep`, as a view: `values` itself
/// when every row is kept (the usual case, without a copy), else a copy held in `storage`.
std::span<const double> kept_rows(std::span<const double> values, std::size_t columns,
                                  const std::vector<bool>& keep, std::vector<double>& storage);

/// The effective weighted target rows a_i (N x C), their masses A_i, the mean divisor D and
/// the scale s (1/D for mean, else 1), computed here in long double from the problem's
/// definition (independently of lib).
struct effective_targets {
    std::vector<long double> a;     ///< N x C
    std::vector<long double> mass;  ///< A_i
    long double divisor = 0;        ///< D
    long double scale = 1;          ///< s
};
effective_targets effective(const problem& p);

/// lib's cross_entropy in T (float or double) on the problem, with probabilities (exact for
/// T = float on float32 problems, whose values are float-exact). The long double reference is
/// cross_entropy_rounded's.
template <class T>
xentcheck::cross_entropy_result<T> reference_in(const problem& p) {
    const std::vector<T> logits(p.logits.begin(), p.logits.end());
    return xentcheck::cross_entropy<T>(logits, p.classes, p.target_view(), p.options());
}

/// A result of reference_in widened to double.
template <class T>
outputs widened(const xentcheck::cross_entropy_result<T>& r) {
    return outputs{std::vector<double>(r.probs.begin(), r.probs.end()),
                   std::vector<double>(r.loss.begin(), r.loss.end()),
                   std::vector<double>(r.grad.begin(), r.grad.end())};
}

/// The tolerance accepting the sum of both bounds: bound(m) = a.bound(m) + b.bound(m).
tolerance sum_of(tolerance a, tolerance b);
/// k times a tolerance.
tolerance times(tolerance t, double k);

/// The natural magnitude s (A p_j + |a_j|) of each gradient entry, from reference probs.
std::vector<double> grad_magnitudes_of(const problem& p, const outputs& truth);

/// A logit in the problem's dtype (float32 problems stay float-exact).
double round_to_dtype(double z, scalar_type t);

/// The problem with new logits, rounded to its dtype.
problem with_logits(const problem& p, std::vector<double> logits);

/// A comparison of two outputs of the same implementation on related problems (or of an
/// output with a value computed here), value by value under `tol`; non-finite values must
/// match exactly.
check_result compare(std::string name, std::span<const double> expected,
                     std::span<const double> actual, std::size_t columns, tolerance tol,
                     std::span<const double> magnitude = {});

}  // namespace xentcheck::properties::detail
