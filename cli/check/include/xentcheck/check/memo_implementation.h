/// xentcheck/check/memo_implementation.h: an external implementation with memory and statistics.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "xentcheck/check/external_implementation.h"
#include "xentcheck/properties/problem_memory.h"

namespace xentcheck::check {

/// One evaluation seen while recording: the problem and the answer or fault.
struct evaluation_record {
    properties::problem problem;      ///< what was asked
    bool ok = false;                  ///< whether outputs hold the answer
    properties::outputs values;       ///< the answer (when ok)
    std::optional<check::fault> why;  ///< the fault (when not ok and it was a fault)
};

/// Wraps an external_implementation for a check run:
/// - evaluate() remembers every answer and fault by the exact problem (least recently used
///   answers are dropped past a byte budget), so properties that draw the same problems, and
///   the shrinking of a failure that an earlier property already shrank, cost no requests;
/// - evaluate_batch() always asks afresh (determinism and finite differences need that);
/// - it counts requests, timeouts and restarts and measures the slowest answer of a running
///   process, which sets the shorter timeouts used while shrinking;
/// - it can record every evaluation of a stretch (the re-check of a counterexample) so a
///   report can show the problem whose answer disagrees with the reference;
/// - several threads may evaluate through it at once: one request is in flight at a time
///   (the process answers in order), and an answer one thread got is remembered for the others.
class memo_implementation final : public properties::implementation {
  public:
    /// Wraps `inner` (not owned); remembers up to `byte_budget` bytes of answers.
    explicit memo_implementation(external_implementation& inner,
                                 std::size_t byte_budget = std::size_t(128) << 20);
    /// The inner implementation's name.
    std::string name() const override { return inner_.name(); }
    /// The remembered answer, or a request; a fault is remembered and thrown as fault_error.
    properties::outputs evaluate(const properties::problem& p) override;
    /// As evaluate(), sharing the remembered answer instead of copying it.
    std::shared_ptr<const properties::outputs> evaluate_shared(
        const properties::problem& p) override;
    /// Fresh requests, pipelined; faults become failed attempts.
    std::vector<properties::attempt> evaluate_batch(
        std::span<const properties::problem> problems) override;
    /// The same problem asked afresh `times` times in one batch, without copying it.
    std::vector<properties::attempt> evaluate_repeated(const properties::problem& p,
                                                       std::size_t times) override;

    /// The process client (timeouts, restarts).
    process_client& client() noexcept { return inner_.client(); }
    /// Requests sent so far (remembered answers excluded).
    std::size_t requests() const noexcept { return requests_; }
    /// Requests that timed out so far.
    std::size_t timeouts() const noexcept { return timeouts_; }
    /// Faults of any kind so far.
    std::size_t faults() const noexcept { return faults_; }
    /// The longest a running process took to answer one request (or a whole batch), excluding
    /// answers that needed a (re)start: the implementation's own pace.
    std::chrono::nanoseconds slowest_answer() const noexcept { return slowest_; }

    /// Whether the remembered outcome of `p` is a timeout.
    bool remembered_timeout(const properties::problem& p) const;
    /// Forgets the remembered answer to `p`, if any (to ask it again under other timeouts).
    void forget(const properties::problem& p);

    /// Starts recording evaluations (clears an earlier recording).
    void start_recording();
    /// Stops recording and returns what was recorded, in order.
    std::vector<evaluation_record> stop_recording();

  private:
    /// A remembered outcome: the answer (values), or the fault (why) when values is null.
    struct entry {
        properties::problem problem;  // the key (compared with same_problem)
        std::shared_ptr<const properties::outputs> values;
        check::fault why;
    };
    struct problem_of {
        const properties::problem& operator()(const entry& e) const { return e.problem; }
    };
    /// Remembers the outcome of `p` (whose problem_hash is `hash`) unless it alone exceeds the
    /// budget.
    void remember(const properties::problem& p, std::size_t hash, outcome o,
                  std::shared_ptr<const properties::outputs> values);
    void note(const outcome& o);
    void note_time(std::chrono::nanoseconds elapsed, std::size_t starts_before);
    void record(const properties::problem& p, const outcome& o);
    /// The bookkeeping of a batch's outcomes (counts, pace, recording) and the attempts made of
    /// them; `problem(k)` is the problem of outcome k.
    template <class Problem>
    std::vector<properties::attempt> attempts_of(std::vector<outcome> got, Problem problem,
                                                 std::size_t starts_before,
                                                 std::chrono::steady_clock::time_point began);

    external_implementation& inner_;
    properties::problem_memory<entry, problem_of> memory_;
    std::size_t requests_ = 0, timeouts_ = 0, faults_ = 0;
    std::chrono::nanoseconds slowest_{0};
    bool recording_ = false;
    mutable std::mutex mutex_;  // guards everything above and the process client's requests
    std::vector<evaluation_record> recorded_;
};

}  // namespace xentcheck::check
