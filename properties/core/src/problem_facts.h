/// What properties derive from a problem alone, computed once and shared between them.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "support.h"

namespace xentcheck::properties::detail {

/// The facts of one problem that do not depend on the implementation checked: the tolerance
/// model, the reference's answer, the effective targets, the gradient magnitudes and the
/// defined rows. Every property of a run asks for some of them on the same problem, and for an
/// (8, 128000) problem each costs milliseconds, so each is computed on first use and kept.
/// Facts may be shared between threads: each is computed once (the first caller computes it,
/// others wait for it) and never changes after.
class problem_facts {
  public:
    /// The facts of `p` (a copy is kept: the facts must not change with the caller's problem).
    explicit problem_facts(problem p) : p_(std::move(p)) {}

    /// The problem these are the facts of.
    const problem& subject() const noexcept { return p_; }
    /// p.tolerance(): the model for values computed in p.dtype.
    const tolerance_model& tolerance() const;
    /// lib's reference in long double, rounded to double (reference_outputs()).
    const outputs& truth() const;
    /// The reference's probabilities before rounding to double, N x C.
    std::span<const long double> exact_probs() const;
    /// logsumexp of each row in long double, from the reference's softmax: z_k - ln p_k at the
    /// row's first largest logit k (p_k >= 1/C, so ln p_k carries the probability's relative
    /// error, a few u_ld, as an absolute one: as accurate as a logsumexp pass, without its C
    /// exponentials). NaN for a row of only -inf logits (its probabilities are NaN).
    std::span<const long double> row_logsumexp() const;
    /// The effective target rows, masses, divisor and scale (effective()).
    const effective_targets& effective() const;
    /// The natural magnitude s (A p_j + |a_j|) of each gradient entry (grad_magnitudes_of()
    /// on truth()).
    const std::vector<double>& grad_magnitudes() const;
    /// Whether each row has a finite logit (defined_rows()).
    const std::vector<bool>& defined_rows() const;

    /// Bytes these facts hold once all are computed: what the memory budget counts.
    std::size_t bytes() const noexcept;

  private:
    problem p_;
    mutable std::once_flag model_once_, truth_once_, lse_once_, effective_once_, magnitudes_once_,
        defined_once_;
    mutable std::vector<long double> lse_;
    mutable std::optional<tolerance_model> model_;
    mutable outputs truth_;
    mutable std::vector<long double> exact_probs_;
    mutable effective_targets effective_;
    mutable std::vector<double> magnitudes_;
    mutable std::vector<bool> defined_;
};

/// The facts of `p`. The facts of recent problems are remembered (up to 128 MiB as counted by
/// bytes(), least recently used dropped first; shared by all threads), keyed by problem_hash()
/// and same_problem(): a lookup costs one comparison of the problem's values, not a
/// recomputation.
std::shared_ptr<const problem_facts> facts_of(const problem& p);

}  // namespace xentcheck::properties::detail
