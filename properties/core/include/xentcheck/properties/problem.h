/// xentcheck/properties/problem.h: one softmax + cross-entropy problem as a value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::properties {

/// The precision an implementation is asked to compute in. For float32 every logit, weight and
/// target value of the problem is exactly representable in float, so a float32 implementation
/// receives exactly the problem and can be held to the long double reference on it.
enum class scalar_type {
    float64,  ///< IEEE binary64, unit roundoff 2^-53
    float32,  ///< IEEE binary32, unit roundoff 2^-24
};

/// "float64" or "float32".
std::string_view to_string(scalar_type t) noexcept;
/// Unit roundoff of the type: 2^-53 or 2^-24.
double unit_roundoff(scalar_type t) noexcept;

/// The two forms a target takes.
enum class target_kind {
    index,        ///< one class index per row
    probability,  ///< N x C target probabilities (one-hot, soft, or unnormalised)
};

/// "index" or "probability".
std::string_view to_string(target_kind k) noexcept;

/// A complete F.cross_entropy problem: logits, target and options. Plain data; copy freely.
struct problem {
    scalar_type dtype = scalar_type::float64;  ///< precision of the implementation under test
    std::size_t rows = 0;                      ///< N >= 1
    std::size_t classes = 0;                   ///< C >= 1
    std::vector<double> logits;                ///< N x C, row-major; -inf allowed (masking)
    /// Class indices (N values, each in [0, C) or ignore_index) or probability rows (N x C,
    /// row-major, finite; need not sum to 1).
    std::variant<std::vector<std::int64_t>, std::vector<double>> target =
        std::vector<std::int64_t>{};
    std::vector<double> weight;        ///< C class weights, or empty for none
    std::int64_t ignore_index = -100;  ///< index targets equal to it are ignored
    double label_smoothing = 0;        ///< eps in [0, 1]
    xentcheck::reduction reduction = xentcheck::reduction::mean;  ///< how row losses combine

    /// Which target form the problem has.
    target_kind kind() const noexcept {
        return target.index() == 0 ? target_kind::index : target_kind::probability;
    }
    /// The class indices (index targets only; throws std::bad_variant_access otherwise).
    const std::vector<std::int64_t>& target_indices() const { return std::get<0>(target); }
    /// The probability rows (probability targets only).
    const std::vector<double>& target_probs() const { return std::get<1>(target); }
    /// Whether row i is ignored (index target equal to ignore_index).
    bool row_ignored(std::size_t i) const noexcept;
    /// Number of values of the loss output: N for reduction none, else 1.
    std::size_t loss_size() const noexcept {
        return reduction == xentcheck::reduction::none ? rows : 1;
    }
    /// A view of the target for lib's routines; valid while this problem lives unchanged.
    xentcheck::target_view target_view() const;
    /// lib's options (the weight span points into this problem).
    xentcheck::cross_entropy_options options() const;
    /// Unit roundoff of dtype.
    double unit_roundoff() const noexcept { return properties::unit_roundoff(dtype); }
    /// The tolerance model for values an implementation computed in dtype on this problem.
    xentcheck::tolerance_model tolerance() const;
};

/// Throws xentcheck::input_error naming the field at fault ("logits", "target", "weight",
/// "label_smoothing", "dtype") unless the problem is well formed: shapes agree, indices in
/// range, no NaN or +inf logit, finite weights and target values, and for float32 every value
/// exactly representable in float.
void validate(const problem& p);

/// Row i of the problem as a problem of its own (same options; reduction kept).
problem row_problem(const problem& p, std::size_t i);

/// The problem as one line of JSON in the case format (docs/case-format.md), numbers in
/// shortest round-trip form and non-finite values as "inf"/"-inf"/"nan" strings, so a
/// counterexample can be replayed exactly with `xentcheck eval`. Logits are always 2-D.
std::string show(const problem& p);

/// Hook used by RapidCheck to print a problem in counterexamples (prints show(p)).
void showValue(const problem& p, std::ostream& os);

/// A double in shortest round-trip decimal form ("inf", "-inf", "nan" for non-finite values).
std::string show_number(double x);

/// The exact identity of a problem as a byte string: dtype, target form, reduction, shape,
/// options and the bits of every value. Equal strings mean equal problems (a value to keep in
/// sets of problems seen; tables that look problems up use problem_hash and same_problem).
std::string identity(const problem& p);

/// Whether two problems are identical bit for bit: the equality identity() expresses, without
/// building the byte strings (-0 differs from +0, a NaN equals the same NaN).
bool same_problem(const problem& a, const problem& b) noexcept;

/// A hash for tables keyed by problems (used with same_problem()): the options, the shape and
/// at most 64 evenly spaced values of each array. Equal problems hash equal; hashing every value
/// of an 8 MB problem on each lookup would cost about as much as comparing it, and
/// same_problem() settles the rare collision.
std::size_t problem_hash(const problem& p) noexcept;

}  // namespace xentcheck::properties
