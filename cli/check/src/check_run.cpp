/// Running properties against an implementation: fixed, carried-over and generated problems,
/// greedy shrinking within limits, and the counterexample with the implementation's answer.
#include "xentcheck/check/check_run.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <rapidcheck/Seq.h>
#include <rapidcheck/shrinkable/Create.h>

#include "check_draws.h"

namespace xentcheck::check {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace props = xentcheck::properties;
using detail::draws;
using detail::shrinkable;

/// Properties whose bounds assume no negative target entry (the generators never draw one;
/// a fixed case may have one).
bool assumes_nonnegative_targets(std::string_view name) {
    return name == "loss_nonnegative" || name == "loss_at_least_target_entropy" ||
           name == "grad_within_bounds";
}

/// The configuration a property draws from in a check: the registry's narrowing, and for the
/// properties that ask several problems per case (the symmetries, determinism and
/// self-consistency) at most 4097 classes (every block edge) and 16384 values (self-consistency,
/// with up to 25 problems per case: 2048; a row of up to 4097 classes is still drawn alone). The
/// values sent and parsed set the cost of a run; vocabulary-sized problems (up to 131072 classes)
/// are asked once per case by the properties that need one answer, which share it.
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

/// Whether a problem lies within a generator configuration's size limits.
bool fits(const props::problem& p, const props::generator_config& c) {
    return p.rows <= std::max<std::size_t>(c.max_rows, 1) && p.classes <= c.max_classes &&
           p.classes >= c.min_classes && p.rows * p.classes <= c.max_elements;
}

double seconds_since(clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
}

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

    void tick() {
        if (progress_) progress_(where_);
    }

    /// Shrinks a failing problem greedily within the limits. Returns the simplest failing one.
    shrinkable shrink(const shrinkable& original, props::verdict& v, property_outcome& out) {
        const shrink_limits& lim = o_.shrink;
        const auto started = clock::now();
        const auto deadline = started + std::min<clock::duration>(
                                            lim.max_time, lim.max_total_time - shrinking_spent_);
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

  private:
    /// Why shrinking must stop now, or "".
    std::string limit_reached(const property_outcome& out, clock::time_point deadline,
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

    bool shorten_timeouts() {
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

    memo_implementation& impl_;
    const run_options& o_;
    const props::property_info& property_;
    const progress_callback& progress_;
    run_progress where_;
    clock::duration& shrinking_spent_;  // all shrinking of the run so far
    std::size_t internal_errors_ = 0;
    std::string first_internal_error_;
};

/// The counterexample of a shrunk failure: the implementation's answer to the problem (from
/// a recorded re-check) and, when that answer agrees with the reference, a related problem the
/// property asked whose answer does not.
counterexample describe(memo_implementation& impl, property_runner& runner, const props::problem& p,
                        std::string origin, props::verdict& v) {
    counterexample ce;
    ce.problem = p;
    ce.origin = std::move(origin);
    impl.start_recording();
    const props::verdict again = runner.check(p);
    std::vector<evaluation_record> seen = impl.stop_recording();
    if (!again) v = again;  // the message of the re-check matches the answers recorded
    const std::string key = properties::identity(p);
    bool found = false;
    for (const auto& r : seen) {
        if (properties::identity(r.problem) != key) continue;
        found = true;
        if (r.ok) ce.outputs = r.values;
        if (r.why) ce.fault = std::string(to_string(r.why->kind));
        break;
    }
    if (!found) {
        try {
            ce.outputs = impl.evaluate(p);
        } catch (const fault_error& e) {
            ce.fault = std::string(to_string(e.fault().kind));
        } catch (const std::exception&) {
        }
    }
    for (const auto& r : seen) {
        if (!ce.fault.empty()) break;
        if (r.why) ce.fault = std::string(to_string(r.why->kind));
    }
    if (ce.outputs && !eval_fails(case_of(p, &*ce.outputs, "", ""))) {
        std::size_t tried = 0;
        for (const auto& r : seen) {
            if (!r.ok || properties::identity(r.problem) == key) continue;
            if (++tried > 32) break;
            if (eval_fails(case_of(r.problem, &r.values, "", ""))) {
                ce.witness = r.problem;
                ce.witness_outputs = r.values;
                break;
            }
        }
    }
    return ce;
}

}  // namespace

const std::vector<std::string>& default_check_properties() {
    static const std::vector<std::string> names{"agrees_with_reference",
                                                "probs_in_unit_interval",
                                                "probs_sum_to_one",
                                                "probs_preserve_order",
                                                "grad_rows_sum_to_zero",
                                                "grad_within_bounds",
                                                "ignored_rows_exactly_zero",
                                                "loss_nonnegative",
                                                "loss_at_least_target_entropy",
                                                "loss_equals_logsumexp_form",
                                                "grad_matches_chain_rule",
                                                "determinism",
                                                "self_consistency",
                                                "shift_invariance",
                                                "permutation_equivariance",
                                                "batch_equals_rows",
                                                "hessian_matches_gradient_differences"};
    return names;
}

bool run_outcome::passed() const noexcept {
    return std::all_of(properties.begin(), properties.end(),
                       [](const property_outcome& p) { return p.passed; });
}

namespace {

/// What one property's fixed cases showed.
struct fixed_outcome {
    int tests = 0;                           // fixed cases tried
    std::optional<std::size_t> failed_case;  // index in run_options::cases of the first failure
    props::verdict verdict;                  // its verdict
    clock::duration spent{0};                // wall time
};

/// Tries every property's fixed cases, `o.jobs` properties at a time. A property tries its
/// fixed cases before anything else, and what it finds there does not depend on other
/// properties, so they can be tried in parallel: while one property waits for the
/// implementation's answers, another computes its reference values and comparisons (the memo
/// and the problems' facts are shared and thread-safe).
std::vector<fixed_outcome> try_fixed_cases(const std::vector<const props::property_info*>& infos,
                                           std::vector<std::unique_ptr<property_runner>>& runners,
                                           const run_options& o,
                                           const progress_callback& progress) {
    std::vector<fixed_outcome> found(infos.size());
    if (o.cases.empty()) return found;
    // Two queues, in run order: the properties that ask related problems (mostly waiting for
    // answers, which come one at a time) and the others (mostly computing). Even workers take
    // from the first first, odd ones from the second, so the implementation's process is kept
    // busy while the other cores compute.
    std::vector<std::size_t> queues[2];
    for (std::size_t index = 0; index < infos.size(); ++index)
        queues[infos[index]->asks_related_problems ? 0 : 1].push_back(index);
    std::atomic<std::size_t> taken[2] = {0, 0};
    std::atomic<std::size_t> workers{0};
    const auto take = [&](int preferred) -> std::optional<std::size_t> {
        for (const int q : {preferred, 1 - preferred}) {
            if (const std::size_t k = taken[q]++; k < queues[q].size()) return queues[q][k];
        }
        return std::nullopt;
    };
    auto work = [&] {
        const int preferred = static_cast<int>(workers++ % 2);
        if (preferred == 1) {
            // While the first requests are answered, what every property derives from the
            // cases alone (the reference's answers, the tolerance models) is computed.
            // A failure here (memory, say) is left to the properties, which count it as
            // xentcheck's own (property_runner::check); nothing may escape a thread.
            for (const fixed_case& fc : o.cases) {
                try {
                    props::prepare(fc.problem);
                } catch (const std::exception&) {
                }
            }
        }
        while (const std::optional<std::size_t> next = take(preferred)) {
            const std::size_t index = *next;
            const props::property_info& info = *infos[index];
            const auto started = clock::now();
            fixed_outcome& f = found[index];
            run_progress where;
            where.index = index;
            where.count = infos.size();
            where.property = info.name;
            where.planned = static_cast<int>(o.cases.size()) + o.max_success;
            // Fixed cases beyond what the property can afford (the registry's own limits: 64
            // classes for the Hessian differences, 4097 classes and 8192 values for the loss
            // differences, ...) are not tried by it. The run's generator sizes do not apply: a
            // case the user asked for is tried by every property whose cost is linear in its
            // size.
            props::generator_config unbounded = o.config;
            unbounded.max_classes = unbounded.max_rows = unbounded.max_elements =
                std::numeric_limits<std::size_t>::max();
            const props::generator_config affordable = info.config_for(unbounded);
            for (std::size_t k = 0; k < o.cases.size(); ++k) {
                const fixed_case& fc = o.cases[k];
                if (assumes_nonnegative_targets(info.name) && !has_nonnegative_targets(fc.problem))
                    continue;
                if (!fits(fc.problem, affordable)) continue;
                ++f.tests;
                props::verdict v = runners[index]->check(fc.problem);
                where.tested = f.tests;
                if (progress) progress(where);
                if (!v) {
                    f.failed_case = k;
                    f.verdict = std::move(v);
                    break;
                }
            }
            f.spent = clock::now() - started;
        }
    };
    const std::size_t helpers = std::min(std::max<std::size_t>(o.jobs, 1), infos.size()) - 1;
    {
        std::vector<std::jthread> threads;
        for (std::size_t t = 0; t < helpers; ++t)
            threads.emplace_back(work);
        work();
    }  // joined here, before `found` is returned (and perhaps moved)
    return found;
}

}  // namespace

run_outcome run_check(memo_implementation& impl, const run_options& o,
                      const progress_callback& progress) {
    std::vector<const props::property_info*> infos;
    for (const std::string& name : o.properties) {
        const props::property_info* info = props::find_property(name);
        if (!info) throw std::invalid_argument("unknown property: " + name);
        infos.push_back(info);
    }
    const auto run_start = clock::now();
    const std::size_t requests_before = impl.requests(), faults_before = impl.faults();
    impl.client().set_timeouts(o.timeout, o.restart_timeout);
    // Properties may report progress from several threads (the fixed cases): one at a time.
    std::mutex progress_mutex;
    const progress_callback report = [&](const run_progress& where) {
        const std::lock_guard lock(progress_mutex);
        if (progress) progress(where);
    };
    clock::duration shrinking_spent{0};
    std::vector<std::unique_ptr<property_runner>> runners;
    for (std::size_t index = 0; index < infos.size(); ++index) {
        run_progress where;
        where.index = index;
        where.count = infos.size();
        where.property = infos[index]->name;
        where.planned = static_cast<int>(o.cases.size()) + o.max_success;
        runners.push_back(std::make_unique<property_runner>(impl, o, *infos[index], report, where,
                                                            shrinking_spent));
    }
    const std::vector<fixed_outcome> fixed = try_fixed_cases(infos, runners, o, report);
    run_outcome run;
    // The minimal counterexamples found so far: every later property tries them first, so a
    // fault found once (a crash, a hang) is not searched for and shrunk again from scratch.
    std::vector<std::pair<std::string, shrinkable>> carried;  // (property, counterexample)
    draws generated(o.seed, o.max_success, o.max_size);
    std::unordered_set<std::string> fixed_ids;
    for (const fixed_case& fc : o.cases)
        fixed_ids.insert(props::identity(fc.problem));
    for (std::size_t index = 0; index < infos.size(); ++index) {
        const props::property_info& info = *infos[index];
        property_runner& runner = *runners[index];
        const auto started = clock::now();
        property_outcome out;
        out.name = std::string(info.name);
        out.summary = std::string(info.summary);
        run_progress where;
        where.index = index;
        where.count = infos.size();
        where.property = info.name;
        where.planned = static_cast<int>(o.cases.size()) + o.max_success;
        auto tick = [&] {
            where.tested = out.tests;
            report(where);
        };
        const props::generator_config config = check_config(info, o.config);
        std::optional<shrinkable> failing;
        std::string origin;
        props::verdict v;
        out.tests = fixed[index].tests;
        if (const auto k = fixed[index].failed_case) {
            v = fixed[index].verdict;
            failing = rc::shrinkable::just(props::labelled_problem{o.cases[*k].problem, {}, {}});
            origin = o.cases[*k].origin;
        }
        for (std::size_t k = 0; !failing && k < carried.size(); ++k) {
            const props::labelled_problem earlier = carried[k].second.value();
            if (!fits(earlier.value, config) || fixed_ids.count(props::identity(earlier.value)))
                continue;  // too large for this property, or tried already as a fixed case
            ++out.tests;
            v = runner.check(earlier.value);
            tick();
            if (!v) {
                failing = carried[k].second;
                origin = "the counterexample of " + carried[k].first + ", tried first";
            }
        }
        if (!failing) {
            for (int i = 0; i < o.max_success; ++i) {
                const std::shared_ptr<const draws::drawn> drawn = generated.get(config, i);
                ++out.tests;
                v = runner.check(drawn->value.value);
                tick();
                if (!v) {
                    failing = drawn->source;
                    origin = "generated case " + std::to_string(i + 1) + " of " +
                             std::to_string(o.max_success);
                    break;
                }
            }
        }
        if (failing) {
            out.passed = false;
            shrinkable best = runner.shrink(*failing, v, out);
            out.example = describe(impl, runner, best.value().value, origin, v);
            out.message = v.message;
            const std::string id = props::identity(best.value().value);
            const bool known = std::any_of(carried.begin(), carried.end(), [&](const auto& c) {
                return props::identity(c.second.value().value) == id;
            });
            if (!known) carried.emplace_back(out.name, best);
        }
        out.note = runner.internal_note();
        out.seconds =
            std::chrono::duration<double>(fixed[index].spent).count() + seconds_since(started);
        run.properties.push_back(std::move(out));
    }
    run.seconds = seconds_since(run_start);
    run.requests = impl.requests() - requests_before;
    run.faults = impl.faults() - faults_before;
    run.starts = impl.client().starts();
    return run;
}

}  // namespace xentcheck::check
