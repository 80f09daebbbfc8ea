/// The accuracy table: per regime, the largest error of each output against the oracle.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <vector>

#include "xentcheck/oracle/error.h"
#include "xentcheck/oracle/oracle.h"
#include "xentcheck/oracle/sampler.h"

namespace xentcheck::accuracy {

/// The columns of the table. "grad_single" covers gradient entries that are one product with
/// no cancellation (index targets, no label smoothing, row not ignored); the magnitude columns
/// are errors in ulps of the natural magnitude (loss_magnitudes, grad_magnitudes).
enum column { probs_ulp, loss_ulp, loss_magnitude, grad_ulp, grad_single_ulp, grad_magnitude };
inline constexpr std::size_t column_count = 6;

/// The largest finite error of one column, and how many values disagreed on being finite.
struct column_stats {
    double max = 0;             ///< largest error (ulps), over values whose finiteness agreed
    std::uint64_t worst = 0;    ///< the case where it occurred
    std::size_t values = 0;     ///< values measured
    std::size_t nonfinite = 0;  ///< values where exactly one side was non-finite, or unequal
    void add(double error, std::uint64_t case_id);
};

/// One row of the table.
struct regime_stats {
    std::size_t cases = 0;                          ///< cases drawn in this regime
    std::array<column_stats, column_count> column;  ///< per output
    std::size_t known_differences = 0;  ///< cases with a known semantic difference (skipped
                                        ///< by the bound check; their values still count)
    std::size_t bound_violations = 0;   ///< values outside the documented bounds (reference only)
    std::uint64_t first_violation = 0;  ///< a case with a violation, when there is one
    std::size_t unproven = 0;           ///< oracle values whose rounding was not proven
    long max_precision = 0;             ///< the largest working precision the oracle needed
};

/// Adds one case's errors: `probs`, `loss`, `grad` are the implementation's outputs in
/// cross_entropy's layout, `truth` the oracle's, `bounds` its magnitudes (and bounds).
void measure_case(const oracle::sampled_case& c, std::uint64_t case_id,
                  std::span<const double> probs, std::span<const double> loss,
                  std::span<const double> grad, const oracle::oracle_result& truth,
                  const oracle::reference_bounds& bounds, regime_stats& stats);

/// Prints the table (Markdown): one row per regime and a final "all" row. `with_bounds` adds
/// the known-difference, bound-violation and oracle columns.
void print_table(std::ostream& out, std::span<const regime_stats> stats, bool with_bounds);
/// Prints, per regime, the case id at which each column's maximum occurred.
void print_worst_cases(std::ostream& out, std::span<const regime_stats> stats);

}  // namespace xentcheck::accuracy
