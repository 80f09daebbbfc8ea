/// The tolerance-model study: random problems, the long double reference, and error/bound ratios.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::study {

/// One cross-entropy problem, stored in double.
struct problem {
    std::string kind;                  ///< how the logits were generated (for reports)
    std::size_t classes = 1;           ///< C
    std::vector<double> logits;        ///< N x C
    std::vector<std::int64_t> index;   ///< class-index targets, or empty
    std::vector<double> target;        ///< N x C probability targets when index is empty
    std::vector<double> weight;        ///< C class weights, or empty
    std::int64_t ignore_index = -100;  ///< skipped class index
    double label_smoothing = 0;        ///< eps
    reduction red = reduction::mean;   ///< reduction

    std::size_t rows() const { return logits.size() / classes; }
    target_view view() const;
    cross_entropy_options options() const;
    /// One line naming the problem: kind, shape, options, largest |logit|.
    std::string describe() const;
};

/// The same problem with every number rounded to float (so a float implementation and the
/// reference see identical inputs).
problem rounded_to_float(const problem& q);

/// What the generator draws from.
struct generator_options {
    std::size_t min_classes = 1, max_classes = 4097;  ///< C, log-uniform between the two
    std::size_t max_elements = 20000;                 ///< cap on N x C
    bool allow_minus_inf = true;                      ///< rows with some -inf logits
};

/// Random problems over every logit pattern, target form and option (see tolerance_study.cpp).
problem random_problem(std::mt19937_64& rng, const generator_options& g = {});

/// One problem with C classes and N = 1 of the given logit pattern ("normal", "uniform1e4",
/// "dominant"), index target, mean.
problem wide_row(std::mt19937_64& rng, std::size_t classes, const std::string& pattern);

/// The reference in long double, rounded to double.
struct reference {
    std::vector<double> probs, loss, grad;
};
reference reference_of(const problem& q);

/// Largest ratio |actual - expected| / allowed over each quantity the model bounds (a ratio
/// above 1 is a rejection), for values computed with unit roundoff `u`.
struct ratios {
    double probs = 0, loss = 0, grad = 0, probs_row_sum = 0, grad_row_sum = 0, loss_floor = 0;
    /// The largest of all.
    double worst() const;
};
class judge {
  public:
    /// Values computed with unit roundoff `u` for problem `q`, whose reference is `ref` (both
    /// must outlive the judge).
    judge(const problem& q, const reference& ref, double u);
    ratios operator()(const std::vector<double>& probs, const std::vector<double>& loss,
                      const std::vector<double>& grad) const;

  private:
    const problem& q_;
    const reference& ref_;
    tolerance_model model_;
    std::vector<double> magnitude_;  // grad_magnitudes of the reference probabilities
};

/// The ratio of one value: 0 when equal (including matching non-finite values), inf when the
/// reference is non-finite and the value differs, else |actual - expected| / allowed.
double ratio(double expected, double actual, double allowed);

/// The natural scale of each value, below which a change is not an error worth catching:
/// max(|p|, 1e-20) for probabilities, max(grad_magnitudes, 1e-20 grad_scale) for gradient
/// entries, max(|L|, R loss_scale) for losses (a loss is a sum of target-weighted differences of
/// terms of size up to R = 2M + ln C + 1).
struct natural_scales {
    std::vector<double> probs, loss, grad;
};
natural_scales natural_scales_of(const problem& q, const reference& ref);

/// Largest |a_k - b_k| / scale_k over the three outputs: how far a planted bug moved them.
double largest_change(const natural_scales& scale, const std::vector<double>& probs_a,
                      const std::vector<double>& probs_b, const std::vector<double>& loss_a,
                      const std::vector<double>& loss_b, const std::vector<double>& grad_a,
                      const std::vector<double>& grad_b);

/// Worst ratio seen per (implementation, dtype, quantity), with the problem that produced it.
class ratio_table {
  public:
    void record(const std::string& row, const ratios& r, const problem& q);
    /// The worst value of one quantity in one row ("probs", "loss", "grad", ...).
    double worst(const std::string& row, const std::string& quantity) const;
    /// The table, one line per row, and the problem behind each row's worst value.
    std::string format() const;

  private:
    struct entry {
        double value = 0;
        std::string where;
    };
    std::map<std::string, std::map<std::string, entry>> rows_;
};

}  // namespace xentcheck::study
