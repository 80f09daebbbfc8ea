/// The remembering, counting wrapper around an external implementation.
#include "xentcheck/check/memo_implementation.h"

#include <algorithm>
#include <mutex>

namespace xentcheck::check {

namespace {

properties::outputs outputs_of(const outcome& o) {
    return {o.values.probs, o.values.loss, o.values.grad};
}

}  // namespace

memo_implementation::memo_implementation(external_implementation& inner, std::size_t byte_budget)
    : inner_(inner), memory_(byte_budget) {}

void memo_implementation::note(const outcome& o) {
    ++requests_;
    if (o.ok()) return;
    ++faults_;
    if (o.fault.kind == fault_kind::timed_out) ++timeouts_;
}

void memo_implementation::note_time(std::chrono::nanoseconds elapsed, std::size_t starts_before) {
    // An answer that needed a (re)start includes start-up: not the implementation's pace.
    if (client().starts() == starts_before && elapsed > slowest_) slowest_ = elapsed;
}

void memo_implementation::record(const properties::problem& p, const outcome& o) {
    if (!recording_) return;
    evaluation_record r;
    r.problem = p;
    r.ok = o.ok();
    if (o.ok()) {
        r.values = outputs_of(o);
    } else {
        r.why = o.fault;
    }
    recorded_.push_back(std::move(r));
}

void memo_implementation::remember(const properties::problem& p, std::size_t hash, outcome o,
                                   std::shared_ptr<const properties::outputs> values) {
    std::size_t bytes =
        sizeof(entry) + o.fault.message.size() + o.fault.raw.size() + properties::problem_bytes(p);
    if (values) {
        bytes +=
            sizeof(double) * (values->probs.size() + values->loss.size() + values->grad.size());
    }
    if (bytes > memory_.budget()) return;
    memory_.remember(hash, entry{p, std::move(values), std::move(o.fault)}, bytes);
}

properties::outputs memo_implementation::evaluate(const properties::problem& p) {
    return *evaluate_shared(p);
}

std::shared_ptr<const properties::outputs> memo_implementation::evaluate_shared(
    const properties::problem& p) {
    const std::lock_guard lock(mutex_);
    const std::size_t hash = properties::problem_hash(p);
    if (const entry* e = memory_.use(p, hash)) {
        if (recording_) {
            outcome o;
            if (e->values) {
                o.values = {e->values->probs, e->values->loss, e->values->grad};
            } else {
                o.fault = e->why;
            }
            record(p, o);
        }
        if (!e->values) throw fault_error(e->why);
        return e->values;
    }
    const std::size_t starts = client().starts();
    const auto began = std::chrono::steady_clock::now();
    outcome o = client().evaluate(to_request(p));
    if (o.ok()) note_time(std::chrono::steady_clock::now() - began, starts);
    note(o);
    record(p, o);
    if (!o.ok()) {
        const fault why = o.fault;
        remember(p, hash, std::move(o), nullptr);
        throw fault_error(why);
    }
    auto values = std::make_shared<const properties::outputs>(properties::outputs{
        std::move(o.values.probs), std::move(o.values.loss), std::move(o.values.grad)});
    remember(p, hash, std::move(o), values);
    return values;
}

template <class Problem>
std::vector<properties::attempt> memo_implementation::attempts_of(
    std::vector<outcome> got, Problem problem, std::size_t starts_before,
    std::chrono::steady_clock::time_point began) {
    const bool all_ok =
        std::all_of(got.begin(), got.end(), [](const outcome& o) { return o.ok(); });
    if (all_ok) note_time(std::chrono::steady_clock::now() - began, starts_before);
    std::vector<properties::attempt> out(got.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        note(got[k]);
        record(problem(k), got[k]);
        out[k].ok = got[k].ok();
        if (out[k].ok) {
            out[k].values = {std::move(got[k].values.probs), std::move(got[k].values.loss),
                             std::move(got[k].values.grad)};
        } else {
            out[k].error = got[k].fault.to_string();
        }
    }
    return out;
}

std::vector<properties::attempt> memo_implementation::evaluate_batch(
    std::span<const properties::problem> problems) {
    const std::lock_guard lock(mutex_);
    const std::size_t starts = client().starts();
    const auto began = std::chrono::steady_clock::now();
    return attempts_of(
        inner_.evaluate_batch(problems),
        [&](std::size_t k) -> const properties::problem& { return problems[k]; }, starts, began);
}

std::vector<properties::attempt> memo_implementation::evaluate_repeated(
    const properties::problem& p, std::size_t times) {
    const std::lock_guard lock(mutex_);
    const std::size_t starts = client().starts();
    const auto began = std::chrono::steady_clock::now();
    return attempts_of(
        inner_.evaluate_repeated(p, times),
        [&](std::size_t) -> const properties::problem& { return p; }, starts, began);
}

bool memo_implementation::remembered_timeout(const properties::problem& p) const {
    const std::lock_guard lock(mutex_);
    const entry* e = memory_.find(p, properties::problem_hash(p));
    return e && !e->values && e->why.kind == fault_kind::timed_out;
}

void memo_implementation::forget(const properties::problem& p) {
    const std::lock_guard lock(mutex_);
    memory_.forget(p, properties::problem_hash(p));
}

void memo_implementation::start_recording() {
    const std::lock_guard lock(mutex_);
    recorded_.clear();
    recording_ = true;
}

std::vector<evaluation_record> memo_implementation::stop_recording() {
    const std::lock_guard lock(mutex_);
    recording_ = false;
    return std::move(recorded_);
}

}  // namespace xentcheck::check
