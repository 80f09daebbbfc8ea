/// property_runner.h: one property run on problems, with greedy shrinking of its failure, and
/// the run's small helpers (internal to check_run).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "check_draws.h"
#include "xentcheck/check/check_run.h"

namespace xentcheck::check::detail {

using clock = std::chrono::steady_clock;
namespace props = xentcheck::properties;

/// Properties whose bounds assume no negative target entry (the generators never draw one;
/// a fixed case may have one).
bool assumes_nonnegative_targets(std::string_view name);

/// The configuration a property draws from in a check: the registry's narrowing, and for the
/// properties that ask several problems per case (the symmetries, determinism and
/// self-consistency) at most 4097 classes (every block edge) and 16384 values (self-consistency,
/// with up to 25 problems per case: 2048; a row of up to 4097 classes is still drawn alone). The
/// values sent and parsed set the cost of a run; vocabulary-sized problems (up to 131072 classes)
/// are asked once per case by the properties that need one answer, which share it.
props::generator_config check_config(const props::property_info& p,
                                     const props::generator_config& base);

/// Whether a problem lies within a generator configuration's size limits.
bool fits(const props::problem& p, const props::generator_config& c);

/// Seconds from `t` to now.
double seconds_since(clock::time_point t);

/// Runs one property on problems and shrinks its failure.
class property_runner {
  public:
    property_runner(memo_implementation& impl, const run_options& o, const props::property_info& p,
                    const progress_callback& progress, run_progress where,
                    clock::duration& shrinking_spent)
        : impl_(impl),
          o_(o),
          property_(p),
          progress_(progress),
          where_(where),
          shrinking_spent_(shrinking_spent) {}

    /// Checks one problem: the property's verdict. The implementation's own failures are
    /// verdicts already (properties catch them); an exception escaping a property is
    /// xentcheck's (a problem too large for its own computations, say), so it is counted and
    /// the problem treated as passing, not blamed on the implementation.
    props::verdict check(const props::problem& p) {
        try {
            return property_.check(impl_, p);
        } catch (const std::exception& e) {
            if (internal_errors_++ == 0) first_internal_error_ = e.what();
            return props::verdict::pass();
        }
    }

    /// A note on problems xentcheck could not evaluate, or "".
    std::string internal_note() const {
        if (internal_errors_ == 0) return "";
        return std::to_string(internal_errors_) + " problem" +
               (internal_errors_ == 1 ? " was" : "s were") +
               " not evaluated: xentcheck itself failed on them (" + first_internal_error_ + ")";
    }

    /// Reports progress after a tried problem, `tested` the problems tried so far.
    void tick(int tested) {
        where_.tested = tested;
        tick();
    }
    /// Reports progress (after each shrinking step).
    void tick() {
        if (progress_) progress_(where_);
    }

    /// Shrinks a failing problem greedily within the limits. Returns the simplest failing one.
    shrinkable shrink(const shrinkable& original, props::verdict& v, property_outcome& out);

  private:
    /// Why shrinking must stop now, or "".
    std::string limit_reached(const property_outcome& out, clock::time_point deadline,
                              std::size_t timeouts_before) const;
    /// Lowers the client's timeouts to the implementation's own pace (see run_options::shrink).
    bool shorten_timeouts();

    memo_implementation& impl_;
    const run_options& o_;
    const props::property_info& property_;
    const progress_callback& progress_;
    run_progress where_;
    clock::duration& shrinking_spent_;  // all shrinking of the run so far
    std::size_t internal_errors_ = 0;
    std::string first_internal_error_;
};

}  // namespace xentcheck::check::detail
