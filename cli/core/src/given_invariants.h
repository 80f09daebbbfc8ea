/// Internal: invariants of given values held to a case's own `tolerance` instead of the model.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "xentcheck/checks.h"

namespace xentcheck::cli::detail {

/// Each row of `values` (N x `classes`) sums to `target` within the case tolerance t: every
/// value v may be off by t.atol + t.rtol |v|, so a row sum may be off by
/// C t.atol + t.rtol sum_j |v_j|. NaN sums fail.
xentcheck::check_result row_sums_within(std::string name, std::span<const double> values,
                                        std::size_t classes, double target, xentcheck::tolerance t);

/// Every value lies in [0, 1] within t: off by at most t.atol + t.rtol |nearest bound|. NaN
/// fails.
xentcheck::check_result unit_interval_within(std::string name, std::span<const double> values,
                                             std::size_t classes, xentcheck::tolerance t);

}  // namespace xentcheck::cli::detail
