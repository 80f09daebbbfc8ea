/// The remembering, counting wrapper around an external implementation.
#include "xentcheck/check/memo_implementation.h"

#include <algorithm>

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

void memo_implementation::remember(std::string key, const outcome& o) {
    entry e;
    e.ok = o.ok();
    if (e.ok) {
        e.values = outputs_of(o);
    } else {
        e.why = o.fault;
    }
    e.bytes =
        key.size() + sizeof(entry) + e.why.message.size() + e.why.raw.size() +
        sizeof(double) * (e.values.probs.size() + e.values.loss.size() + e.values.grad.size());
    e.key = std::move(key);
    if (e.bytes > budget_) return;
    used_ += e.bytes;
    entries_.push_front(std::move(e));
    index_[entries_.front().key] = entries_.begin();
    while (used_ > budget_ && !entries_.empty()) {
        used_ -= entries_.back().bytes;
        index_.erase(entries_.back().key);
        entries_.pop_back();
    }
}

properties::outputs memo_implementation::evaluate(const properties::problem& p) {
    std::string key = properties::identity(p);
    if (const auto it = index_.find(key); it != index_.end()) {
        entries_.splice(entries_.begin(), entries_, it->second);
        const entry& e = *it->second;
        outcome o;
        if (e.ok) {
            o.values = {e.values.probs, e.values.loss, e.values.grad};
        } else {
            o.fault = e.why;
        }
        record(p, o);
        if (!e.ok) throw fault_error(e.why);
        return e.values;
    }
    const std::size_t starts = client().starts();
    const auto began = std::chrono::steady_clock::now();
    outcome o = client().evaluate(to_request(p));
    if (o.ok()) note_time(std::chrono::steady_clock::now() - began, starts);
    note(o);
    record(p, o);
    remember(std::move(key), o);
    if (!o.ok()) throw fault_error(std::move(o.fault));
    return {std::move(o.values.probs), std::move(o.values.loss), std::move(o.values.grad)};
}

std::vector<properties::attempt> memo_implementation::evaluate_batch(
    std::span<const properties::problem> problems) {
    const std::size_t starts = client().starts();
    const auto began = std::chrono::steady_clock::now();
    const std::vector<outcome> got = inner_.evaluate_batch(problems);
    const bool all_ok =
        std::all_of(got.begin(), got.end(), [](const outcome& o) { return o.ok(); });
    if (all_ok) note_time(std::chrono::steady_clock::now() - began, starts);
    std::vector<properties::attempt> out(got.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        note(got[k]);
        record(problems[k], got[k]);
        out[k].ok = got[k].ok();
        if (out[k].ok) {
            out[k].values = outputs_of(got[k]);
        } else {
            out[k].error = got[k].fault.to_string();
        }
    }
    return out;
}

bool memo_implementation::remembered_timeout(const properties::problem& p) const {
    const auto it = index_.find(properties::identity(p));
    return it != index_.end() && !it->second->ok && it->second->why.kind == fault_kind::timed_out;
}

void memo_implementation::forget(const properties::problem& p) {
    const auto it = index_.find(properties::identity(p));
    if (it == index_.end()) return;
    used_ -= it->second->bytes;
    entries_.erase(it->second);
    index_.erase(it);
}

void memo_implementation::start_recording() {
    recorded_.clear();
    recording_ = true;
}

std::vector<evaluation_record> memo_implementation::stop_recording() {
    recording_ = false;
    return std::move(recorded_);
}

}  // namespace xentcheck::check
