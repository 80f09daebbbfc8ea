/// Running properties against an implementation: fixed, carried-over and generated problems,
/// the shrunk failure's counterexample with the implementation's answer (property_runner.h
/// runs and shrinks, fixed_cases.h tries the --cases in parallel).
#include "xentcheck/check/check_run.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include <rapidcheck/shrinkable/Create.h>

#include "check_draws.h"
#include "fixed_cases.h"
#include "property_runner.h"

namespace xentcheck::check {

namespace {

namespace props = xentcheck::properties;
using detail::check_config;
using detail::clock;
using detail::draws;
using detail::fits;
using detail::fixed_outcome;
using detail::property_runner;
using detail::seconds_since;
using detail::shrinkable;
using detail::try_fixed_cases;

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
    bool found = false;
    for (const auto& r : seen) {
        if (!properties::same_problem(r.problem, p)) continue;
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
            if (!r.ok || properties::same_problem(r.problem, p)) continue;
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
    const std::vector<fixed_outcome> fixed = try_fixed_cases(infos, runners, o);
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
        auto tick = [&] { runner.tick(out.tests); };
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
            draws::stream& problems = generated.of(config);
            for (int i = 0; i < o.max_success; ++i) {
                const std::shared_ptr<const draws::drawn> drawn = generated.get(problems, i);
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
