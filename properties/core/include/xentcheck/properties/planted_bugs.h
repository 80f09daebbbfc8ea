/// xentcheck/properties/planted_bugs.h: a textbook implementation with optional planted bugs.
#pragma once

#include <string_view>
#include <vector>

#include "xentcheck/properties/implementation.h"

namespace xentcheck::properties {

/// A bug planted in the textbook implementation, to show that the properties catch it.
enum class planted_bug {
    none,                      ///< no bug: the textbook implementation must pass everything
    gradient_sign,             ///< returns -(A p - a)
    no_max_subtraction,        ///< exp(z) without subtracting the row maximum (overflows)
    log_base_2,                ///< the loss uses log2 instead of the natural log
    grad_wrt_probs,            ///< returns dE/dp = -a / p instead of dE/dz
    mean_divides_by_rows,      ///< mean divides by N, not by the sum of w[t_i] of kept rows
    mean_counts_ignored_rows,  ///< mean divisor adds 1 for every ignored row
    block_max_256,             ///< the shift is the maximum of the first 256 logits only
    float32_accumulation,      ///< float64 problems sum the exponentials in float
};

/// The bug's name ("gradient_sign", ...).
std::string_view to_string(planted_bug b) noexcept;
/// Every planted bug, none first.
const std::vector<planted_bug>& all_planted_bugs();

/// The straightforward implementation (max-shifted exp, p = e / S, loss = -sum a log p,
/// grad = s (A p - a)) in the problem's dtype (float or double), with one planted bug.
/// With planted_bug::none it is an independent, naive but correct implementation.
class planted_bug_implementation final : public implementation {
  public:
    /// The textbook implementation with `bug` planted.
    explicit planted_bug_implementation(planted_bug bug) : bug_(bug) {}
    /// "textbook" or "textbook with <bug>".
    std::string name() const override;
    /// Validates the problem (throws input_error) and computes it with the bug planted.
    outputs evaluate(const problem& p) override;

  private:
    planted_bug bug_;
};

}  // namespace xentcheck::properties
