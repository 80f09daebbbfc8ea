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
    : inner_(inner), budget_(byte_budget) {}

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

std::optional<memo_implementation::entry_list::iterator> memo_implementation::find(
    const properties::problem& p, std::size_t hash) const {
    const auto [first, last] = index_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
        if (properties::same_problem(it->second->problem, p)) return it->second;
    }
    return std::nullopt;
}

void memo_implementation::remember(const properties::problem& p, std::size_t hash, outcome o,
                                   std::shared_ptr<const properties::outputs> values) {
    const std::size_t targets =
        p.kind() == properties::target_kind::index ? p.rows : p.logits.size();
    entry e;
    e.ok = o.ok();
    e.why = std::move(o.fault);
    e.values = std::move(values);
    e.bytes = sizeof(entry) + e.why.message.size() + e.why.raw.size() +
              sizeof(double) * (p.logits.size() + targets + p.weight.size());
    if (e.values) {
        e.bytes += sizeof(double) *
                   (e.values->probs.size() + e.values->loss.size() + e.values->grad.size());
    }
    if (e.bytes > budget_) return;
    e.problem = p;
    e.hash = hash;
    used_ += e.bytes;
    entries_.push_front(std::move(e));
    index_.emplace(hash, entries_.begin());
    while (used_ > budget_ && !entries_.empty()) {
        erase(std::prev(entries_.end()));
    }
}

void memo_implementation::erase(entry_list::iterator e) {
    const auto [first, last] = index_.equal_range(e->hash);
    for (auto it = first; it != last; ++it) {
        if (it->second == e) {
            index_.erase(it);
            break;
        }
    }
    used_ -= e->bytes;
    entries_.erase(e);
}

properties::outputs memo_implementation::evaluate(const properties::problem& p) {
    return *evaluate_shared(p);
}

std::shared_ptr<const properties::outputs> memo_implementation::evaluate_shared(
    const properties::problem& p) {
    const std::lock_guard lock(mutex_);
    const std::size_t hash = properties::problem_hash(p);
    if (const auto it = find(p, hash)) {
        entries_.splice(entries_.begin(), entries_, *it);
        const entry& e = entries_.front();
        if (recording_) {
            outcome o;
            if (e.ok) {
                o.values = {e.values->probs, e.values->loss, e.values->grad};
            } else {
                o.fault = e.why;
            }
            record(p, o);
        }
        if (!e.ok) throw fault_error(e.why);
        return e.values;
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
    const auto it = find(p, properties::problem_hash(p));
    return it && !(*it)->ok && (*it)->why.kind == fault_kind::timed_out;
}

void memo_implementation::forget(const properties::problem& p) {
    const std::lock_guard lock(mutex_);
    if (const auto it = find(p, properties::problem_hash(p))) erase(*it);
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
