/// One property run on problems: greedy shrinking of its failure within the run's limits.
#include "property_runner.h"

#include <algorithm>
#include <unordered_set>

#include <rapidcheck/Seq.h>

namespace xentcheck::check::detail {

using std::chrono::milliseconds;

bool assumes_nonnegative_targets(std::string_view name) {
    return name == "loss_nonnegative" || name == "loss_at_least_target_entropy" ||
           name == "grad_within_bounds";
}

props::generator_config check_config(const props::property_info& p,
                                     const props::generator_config& base) {
    props::generator_config c = p.config_for(base);
    c.max_elements = std::min<std::size_t>(c.max_elements, 1 << 15);
    const std::string_view name = p.name;
    if (name == "determinism" || name == "shift_invariance" || name == "permutation_equivariance" ||
        name == "batch_equals_rows") {
        c.max_classes = std::min<std::size_t>(c.max_classes, 4097);
        c.max_elements = std::min<std::size_t>(c.max_elements, 16384);
    }
    if (name == "self_consistency") c.max_elements = std::min<std::size_t>(c.max_elements, 2048);
    return c;
}

bool fits(const props::problem& p, const props::generator_config& c) {
    return p.rows <= std::max<std::size_t>(c.max_rows, 1) && p.classes <= c.max_classes &&
           p.classes >= c.min_classes && p.rows * p.classes <= c.max_elements;
}

double seconds_since(clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
}

shrinkable property_runner::shrink(const shrinkable& original, props::verdict& v,
                                   property_outcome& out) {
    const shrink_limits& lim = o_.shrink;
    const auto started = clock::now();
    const auto deadline =
        started + std::min<clock::duration>(lim.max_time, lim.max_total_time - shrinking_spent_);
    const std::size_t timeouts_before = impl_.timeouts();
    const props::verdict original_verdict = v;
    shrinkable best = original;
    where_.shrinking = true;
    bool shortened = false;
    // A process that closed its stdout gets a short grace to exit while shrinking (its
    // exit status only refines the fault's description).
    impl_.client().set_exit_grace(std::min(o_.shrink.exit_grace, o_.exit_grace));
    // Many genome simplifications express the same problem (a code that already gives 0),
    // or one tried before: those need no evaluation and are not counted. A simplification
    // that gives the current problem is taken (the genome gets simpler, the problem stays).
    const std::string original_id = props::identity(best.value().value);
    std::string best_id = original_id;
    std::unordered_set<std::size_t> passed;  // hashes of problems that passed
    const std::hash<std::string> hash;
    for (bool improved = true; improved && out.shrink_stopped.empty();) {
        improved = false;
        rc::Seq<shrinkable> candidates = best.shrinks();
        while (rc::Maybe<shrinkable> candidate = candidates.next()) {
            out.shrink_stopped = limit_reached(out, deadline, timeouts_before);
            if (!out.shrink_stopped.empty()) break;
            // Once the implementation has hung in this run, simpler problems get a timeout
            // scaled to its own pace, not the full per-request timeout.
            if (!shortened && impl_.timeouts() > 0) shortened = shorten_timeouts();
            props::labelled_problem q;
            try {
                q = candidate->value();
            } catch (const std::exception&) {
                continue;  // a simplification the generator could not express
            }
            std::string id = props::identity(q.value);
            if (id == best_id) {
                best = std::move(*candidate);
                improved = true;
                break;
            }
            if (passed.count(hash(id)) != 0) continue;
            ++out.shrink_evaluations;
            props::verdict w = check(q.value);
            tick();
            if (w) {
                passed.insert(hash(id));
                continue;
            }
            best = std::move(*candidate);
            best_id = std::move(id);
            v = std::move(w);
            ++out.shrinks;
            where_.shrinks = out.shrinks;
            improved = true;
            break;
        }
    }
    impl_.client().set_exit_grace(o_.exit_grace);
    if (shortened) {
        impl_.client().set_timeouts(o_.timeout, o_.restart_timeout);
        // A problem that timed out under the shorter timeout must also time out (or fail
        // otherwise) under the full one; if it answers in time, the unshrunk failure,
        // seen under the full timeout, is reported instead.
        const props::problem shrunk = best.value().value;
        if (best_id != original_id && impl_.remembered_timeout(shrunk)) {
            impl_.forget(shrunk);
            props::verdict again = check(shrunk);
            if (again) {
                best = original;
                v = original_verdict;
                out.shrink_stopped =
                    "and was undone: the shrunk problem was answered within the full timeout";
            } else {
                v = std::move(again);
            }
        }
    }
    shrinking_spent_ += clock::now() - started;
    where_.shrinking = false;
    return best;
}

std::string property_runner::limit_reached(const property_outcome& out, clock::time_point deadline,
                                           std::size_t timeouts_before) const {
    const shrink_limits& lim = o_.shrink;
    if (out.shrink_evaluations >= lim.max_evaluations)
        return "after " + std::to_string(lim.max_evaluations) + " simpler problems tried";
    if (out.shrinks >= lim.max_steps)
        return "after " + std::to_string(lim.max_steps) + " simplifications";
    if (clock::now() > deadline) {
        return shrinking_spent_ + lim.max_time >= lim.max_total_time
                   ? "when the run's shrinking time (" +
                         std::to_string(lim.max_total_time.count() / 1000) + " s) was spent"
                   : "after " + std::to_string(lim.max_time.count() / 1000) + " s of shrinking";
    }
    if (impl_.timeouts() - timeouts_before >= lim.max_timeouts)
        return "after " + std::to_string(lim.max_timeouts) + " simpler problems timed out";
    return "";
}

bool property_runner::shorten_timeouts() {
    const shrink_limits& lim = o_.shrink;
    const auto pace = impl_.slowest_answer() * lim.timeout_factor;
    milliseconds request = std::chrono::duration_cast<milliseconds>(pace);
    request = std::clamp(request, std::min(lim.min_timeout, o_.timeout), o_.timeout);
    const milliseconds startup =
        std::chrono::duration_cast<milliseconds>(o_.startup_latency * 4) + request;
    const milliseconds restart =
        std::clamp(startup, std::min(lim.min_restart, o_.restart_timeout), o_.restart_timeout);
    impl_.client().set_timeouts(request, restart);
    return true;
}

}  // namespace xentcheck::check::detail
