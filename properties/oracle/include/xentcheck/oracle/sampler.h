/// xentcheck/oracle/sampler.h: seeded random cases across numerical regimes, for accuracy runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "xentcheck/cross_entropy.h"

namespace xentcheck::oracle {

/// The numerical regimes of the logits (the same names as the property suite's generators).
enum class regime {
    ordinary,       ///< N(0, s) logits, s in {0.3, 1, 3, 10}, or uniform in [-20, 20]
    large_709,      ///< around +-709 (where a naive exp overflows), spread 1 to 1400
    large_1e4,      ///< offset +-1e4 with spread 1 to 1e4
    large_1e8,      ///< offset +-1e8 with spread 1 to 1e8
    large_1e300,    ///< offset up to +-1e300: differences are multiples of ulp(1e300) or huge
    near_ties,      ///< equal up to a few ulps or a relative 1e-15 to 1e-8
    exact_ties,     ///< all equal, or two or three distinct values
    dominant,       ///< one logit ahead of the rest by 10 to 900 (p near 1), usually the target
    masked,         ///< -inf entries; a few rows all -inf, with NaN, or with +inf
    float32_exact,  ///< float-representable logits, targets and weights (as float networks give)
};

/// All regimes, in declaration order.
std::span<const regime> all_regimes();
/// The regime's name ("ordinary", "large_709", ...).
std::string_view to_string(regime r);
/// The regime named `name`, if any.
std::optional<regime> parse_regime(std::string_view name);

/// One drawn case, owning its data; target() and options() view it (keep the case alive).
struct sampled_case {
    regime kind = regime::ordinary;      ///< the logit regime
    std::size_t rows = 1;                ///< N
    std::size_t classes = 2;             ///< C
    std::vector<double> logits;          ///< N x C
    bool index_form = true;              ///< class indices or probability rows
    std::vector<std::int64_t> indices;   ///< N class indices (index form)
    std::vector<double> target_probs;    ///< N x C (probability form)
    std::vector<double> weight;          ///< C weights, or empty
    std::int64_t ignore_index = -100;    ///< as in cross_entropy_options
    double label_smoothing = 0;          ///< eps
    reduction reduce = reduction::mean;  ///< reduction

    /// A view of the targets.
    target_view target() const;
    /// The options, viewing `weight`.
    cross_entropy_options options() const;
};

/// How shapes are drawn. Class counts: mostly 2..16 (88.45%, 1..4 rows), some 17..100 (8%, 1..2
/// rows), the boundary sizes 255, 256, 257, 1023, 1025 (3%), 4097 (0.5%) and a few large ones
/// (large_fraction: 32768 or 50257), one row each; every count capped at max_classes.
struct shape_options {
    std::size_t max_classes = 50257;  ///< larger class counts are reduced to this
    double large_fraction = 0.0005;   ///< share of cases with a large class count
};

/// Draws case `index` of the stream `seed` in regime `r`. Deterministic: the same (seed, index,
/// r, shapes) always gives the same case, so any case of a run can be redrawn alone.
sampled_case draw_case(std::uint64_t seed, std::uint64_t index, regime r,
                       const shape_options& shapes = {});

}  // namespace xentcheck::oracle
