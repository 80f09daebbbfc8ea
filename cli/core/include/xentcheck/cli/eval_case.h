/// xentcheck/cli/eval_case.h: one case of the case format (docs/case-format.md), validated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli {

/// The precision the `expect` values were computed in; it sets the tolerance model's unit
/// roundoff.
enum class dtype { float64, float32 };

/// "float64" or "float32".
std::string_view to_string(dtype d) noexcept;
/// Parses "float64" or "float32"; nullopt otherwise.
std::optional<dtype> parse_dtype(std::string_view name) noexcept;
/// Unit roundoff of the dtype: 2^-53 for float64, 2^-24 for float32.
double unit_roundoff_of(dtype d) noexcept;

/// The name a case has in reports: `name`, or "#<index>" when it has none.
std::string case_display_name(const std::optional<std::string>& name, std::size_t index);

/// Values to compare with the reference (the `expect` object). Each vector is row-major with
/// the shape of the logits (probs, grad) or one value per row / one value (loss).
struct expected_values {
    bool has_probs = false;      ///< `expect.probs` given
    bool has_loss = false;       ///< `expect.loss` given
    bool has_grad = false;       ///< `expect.grad` given
    bool loss_is_array = false;  ///< `expect.loss` was written as an array (reduction none)
    std::vector<double> probs;   ///< N x C
    std::vector<double> loss;    ///< N values (reduction none) or 1
    std::vector<double> grad;    ///< N x C, d loss / d logits
};

/// A validated case. The reader guarantees: rows >= 1, classes >= 1, logits.size() == rows *
/// classes, targets in range (or ignore_index), weight empty or of size classes, options in
/// their domains, expect shapes matching, probs input non-negative with rows summing to 1.
/// Vectors keep their capacity when the reader refills a case, so reading allocates little.
struct eval_case {
    std::size_t index = 0;            ///< position in its file, from 0
    std::optional<std::size_t> line;  ///< 1-based line, for JSON Lines files
    std::optional<std::string> name;  ///< the `name` field
    std::optional<std::string> note;  ///< the `note` field (ignored by evaluation)

    bool from_probs = false;     ///< the input was `probs` (logits = ln p), else `logits`
    bool batched = false;        ///< the input was 2-D (N x C), else one row
    std::size_t rows = 0;        ///< N
    std::size_t classes = 0;     ///< C
    std::vector<double> given;   ///< the input exactly as given (logits or probs), N x C
    std::vector<double> logits;  ///< the logits (a copy of `given`, or ln of it), N x C

    xentcheck::target_view::kind target_kind = xentcheck::target_view::kind::index;
    bool target_is_scalar = false;             ///< `target` was one integer
    std::vector<std::int64_t> target_indices;  ///< index form: N class indices
    std::vector<double> target_probs;          ///< probability form: N x C

    std::vector<double> weight;                                   ///< C class weights, or empty
    std::int64_t ignore_index = -100;                             ///< as in PyTorch
    double label_smoothing = 0;                                   ///< in [0, 1]
    xentcheck::reduction reduction = xentcheck::reduction::mean;  ///< how rows combine
    cli::dtype dtype = cli::dtype::float64;                       ///< precision of `expect`

    expected_values expect;                         ///< values to compare, if any
    std::optional<xentcheck::tolerance> tolerance;  ///< replaces the model for `expect`

    /// The name used in reports: `name`, or "#<index>".
    std::string display_name() const;
    /// The targets as the reference takes them (views into this case).
    xentcheck::target_view target() const;
    /// The options as the reference takes them (the weight is a view into this case).
    xentcheck::cross_entropy_options options() const;
    /// Empties the case but keeps the vectors' capacity.
    void clear();
};

}  // namespace xentcheck::cli
