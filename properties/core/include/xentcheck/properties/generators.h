/// xentcheck/properties/generators.h: RapidCheck generators of cross-entropy problems.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <rapidcheck/Gen.h>

#include "xentcheck/properties/problem.h"

namespace xentcheck::properties {

/// How the logits of one row are drawn. Every choice below is a shrinkable integer, so a
/// counterexample shrinks toward `ordinary` rows, small class counts, no options, and
/// logits near 0 unless the failure needs otherwise.
enum class logit_regime {
    ordinary,     ///< k/16 with |k| <= 160: |z| <= 10 on a float-exact grid
    large_709,    ///< 709 + ordinary (or -709 + ordinary): the edge of exp overflow in double
    large_1e4,    ///< ordinary * 1000: |z| <= 1e4
    large_1e8,    ///< ordinary * 1e7: |z| <= 1e8
    large_1e300,  ///< up to +-1e300 (float32 problems: up to +-2^100, still float-exact)
    near_ties,    ///< base + k * delta, k in [-8, 8], delta 2^-40 (float32: 2^-20): shrinks to ties
    exact_ties,   ///< every entry equal to one base value
    dominant,     ///< ordinary entries plus one logit +-(10 + g), g in [0, 2048], placed at the
                  ///< last class unless shrinking moves it; p -> 1 or p -> 0 with finite loss
    masked,       ///< ordinary entries with about 20% -inf (at least one finite entry)
    float32_exact,  ///< +-m * 2^-16 with a 19-bit m: random-looking values, exact in float
};

/// The regime's name as used in docs and reports ("ordinary", "large_709", ...).
std::string_view to_string(logit_regime r) noexcept;
/// Every regime, in shrinking order (ordinary first).
const std::vector<logit_regime>& all_logit_regimes();

/// Where a class count was drawn from.
enum class class_regime {
    small,       ///< 1..16 (about 65% of draws)
    medium,      ///< 17..200 (about 12%)
    block_edge,  ///< a power of two from 32 to 4096 or a neighbour: 255, 256, 257, 1025, 4097 ...
    large,       ///< vocabulary sizes 32768 .. 131072 (about 3%; the batch is then one row)
};
/// "small", "medium", "block_edge" or "large".
std::string_view to_string(class_regime r) noexcept;

/// What the generators may produce. The default covers everything the reference supports
/// except whole-row -inf masks (whose rows are undefined: NaN outputs, like PyTorch).
struct generator_config {
    /// Precisions drawn (the first one is what shrinking moves toward).
    std::vector<scalar_type> dtypes{scalar_type::float64, scalar_type::float32};
    /// Target forms drawn.
    std::vector<target_kind> targets{target_kind::index, target_kind::probability};
    /// Reductions drawn.
    std::vector<xentcheck::reduction> reductions{
        xentcheck::reduction::none, xentcheck::reduction::mean, xentcheck::reduction::sum};
    /// Logit regimes drawn for each row.
    std::vector<logit_regime> regimes = all_logit_regimes();
    bool weights = true;                 ///< class weights (positive, multiples of 1/8 in [1/8, 4])
    bool ignore_index = true;            ///< ignored rows (ignore_index -100, or the class 0)
    bool label_smoothing = true;         ///< eps in {0, 1/32, ..., 1}
    bool soft_targets = true;            ///< probability rows other than one-hot (with zeros)
    bool unnormalised_targets = true;    ///< probability rows not summing to 1 (PyTorch allows)
    bool whole_row_masks = false;        ///< rows made only of -inf (undefined, NaN outputs)
    std::size_t min_classes = 1;         ///< smallest C drawn
    std::size_t max_classes = 131072;    ///< largest C drawn (class regimes are clamped to it)
    std::size_t max_rows = 24;           ///< largest N drawn (reached only at full size)
    std::size_t max_elements = 1 << 17;  ///< N * C never exceeds this (large C gives N = 1)
};

/// A problem together with how it was drawn (for coverage statistics and reports).
struct labelled_problem {
    problem value;                                    ///< the problem
    std::vector<logit_regime> row_regimes;            ///< the regime of each row
    class_regime classes_from = class_regime::small;  ///< where C came from
};

/// Hook used by RapidCheck to print a labelled problem: show(value) and the row regimes.
void showValue(const labelled_problem& p, std::ostream& os);

/// Class counts under `config`: mostly 1..16, regularly the block edges, rarely >= 32768.
/// Shrinks toward config.min_classes (and toward 257 for a failure that needs C > 256).
rc::Gen<std::size_t> gen_class_count(const generator_config& config = {});

/// One row of `classes` logits in a regime drawn from config.regimes, float-exact when `dtype`
/// is float32. Shrinks toward an ordinary row of zeros.
rc::Gen<std::vector<double>> gen_logit_row(std::size_t classes, scalar_type dtype,
                                           const generator_config& config = {});

/// `classes` class weights in [1/8, 4] (multiples of 1/8, so float-exact); shrinks toward 1.
rc::Gen<std::vector<double>> gen_weights(std::size_t classes);

/// Whole problems under `config` with their provenance. Rows draw their regimes
/// independently (so scales differ per row); N grows with RapidCheck's size up to max_rows,
/// capped so N * C <= max_elements. Always valid (validate() passes): nothing is filtered.
rc::Gen<labelled_problem> gen_labelled_problem(const generator_config& config = {});

/// Whole problems under `config` (gen_labelled_problem without the provenance).
rc::Gen<problem> gen_problem(const generator_config& config = {});

}  // namespace xentcheck::properties
