/// Invariants of given values held to a case's own `tolerance`.
#include "given_invariants.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace xentcheck::cli::detail {

xentcheck::check_result row_sums_within(std::string name, std::span<const double> values,
                                        std::size_t classes, double target,
                                        xentcheck::tolerance t) {
    const std::size_t rows = classes == 0 ? 0 : values.size() / classes;
    std::vector<double> sums(rows), sizes(rows), targets(rows, target);
    for (std::size_t i = 0; i < rows; ++i) {
        double sum = 0, size = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            sum += values[i * classes + j];
            size += std::abs(values[i * classes + j]);
        }
        sums[i] = sum;
        sizes[i] = size;
    }
    const xentcheck::tolerance per_row{static_cast<double>(classes) * t.atol, t.rtol};
    return xentcheck::compare_values(std::move(name), targets, sums, 1, per_row, sizes);
}

xentcheck::check_result unit_interval_within(std::string name, std::span<const double> values,
                                             std::size_t classes, xentcheck::tolerance t) {
    std::vector<double> nearest(values.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
        // A NaN is held to 0, which it cannot match.
        nearest[k] = std::isnan(values[k]) ? 0.0 : std::clamp(values[k], 0.0, 1.0);
    }
    return xentcheck::compare_values(std::move(name), nearest, values, classes, t);
}

}  // namespace xentcheck::cli::detail
