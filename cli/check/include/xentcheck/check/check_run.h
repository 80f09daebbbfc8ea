/// xentcheck/check/check_run.h: the properties run against an implementation, failures shrunk.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/check/check_cases.h"
#include "xentcheck/check/memo_implementation.h"
#include "xentcheck/properties/properties.h"

namespace xentcheck::check {

/// How far the shrinking of one failure may go. Every failure is shrunk greedily (the first
/// simpler problem that still fails is taken, and its own simplifications are tried next)
/// until no simplification fails or one of these limits is reached.
struct shrink_limits {
    std::size_t max_evaluations = 2000;               ///< distinct simpler problems tried
    std::size_t max_steps = 400;                      ///< simplifications taken
    std::chrono::milliseconds max_time{30000};        ///< wall time per failure
    std::chrono::milliseconds max_total_time{90000};  ///< wall time of all shrinking in a run
    std::size_t max_timeouts = 40;                    ///< tried problems that timed out
    /// Once the implementation has timed out in the run, simpler problems get a shorter
    /// timeout: this multiple of its slowest answer, within [min_timeout, the timeout]...
    double timeout_factor = 10;
    std::chrono::milliseconds min_timeout{100};  ///< ...floor of that shorter timeout
    /// After a restart while shrinking: 4 x the measured start-up time + the shorter timeout,
    /// at least this (and at most the normal start-up timeout).
    std::chrono::milliseconds min_restart{250};
    /// How long a process that closed its stdout may take to exit, while shrinking.
    std::chrono::milliseconds exit_grace{100};
};

/// What to run.
struct run_options {
    properties::generator_config config;       ///< what the generators draw (dtype, targets, ...)
    std::uint64_t seed = 0;                    ///< the same seed draws the same problems
    int max_success = 100;                     ///< generated cases per property
    int max_size = 100;                        ///< largest RapidCheck size (rows grow with it)
    std::vector<std::string> properties;       ///< names, in order (default_check_properties())
    std::vector<fixed_case> cases;             ///< tried first by every property (--cases)
    std::chrono::milliseconds timeout{10000};  ///< per-request timeout
    std::chrono::milliseconds restart_timeout{60000};  ///< first answer after a restart
    std::chrono::nanoseconds startup_latency{0};       ///< the first start's measured time
    std::chrono::milliseconds exit_grace{
        1000};             ///< the client's exit grace (restored after shrinking)
    shrink_limits shrink;  ///< shrinking limits
    /// Properties whose fixed cases are tried at once (threads; 1: one after the other).
    /// Reports are the same whatever the number, except the properties' times, which overlap.
    std::size_t jobs = 1;
};

/// The properties `xentcheck check` runs, in order: agreement with the reference, the
/// invariants of the implementation's own outputs, determinism, self-consistency, then the
/// symmetries and the Hessian differences (which ask several related problems per case).
const std::vector<std::string>& default_check_properties();

/// A minimal failing problem and what the implementation made of it.
struct counterexample {
    properties::problem problem;                 ///< the shrunk problem
    std::optional<properties::outputs> outputs;  ///< the implementation's answer to it
    std::string fault;                           ///< fault kind seen in its re-check, or ""
    std::string origin;                          ///< where the unshrunk failure came from
    /// A related problem the property asked (shifted, permuted, one row, ...) whose answer
    /// disagrees with the reference when the counterexample's own answer does not.
    std::optional<properties::problem> witness;
    properties::outputs witness_outputs;  ///< the answer to the witness
};

/// The outcome of one property.
struct property_outcome {
    std::string name;                       ///< registry name
    std::string summary;                    ///< what must hold
    bool passed = true;                     ///< no failure found
    int tests = 0;                          ///< problems tried (fixed, carried over, generated)
    std::string message;                    ///< why it failed (the shrunk failure's verdict)
    std::optional<counterexample> example;  ///< the shrunk counterexample (failed only)
    std::size_t shrinks = 0;                ///< simplifications taken
    std::size_t shrink_evaluations = 0;     ///< simpler problems tried
    std::string shrink_stopped;             ///< why shrinking stopped at a limit, or ""
    std::string note;                       ///< problems xentcheck could not evaluate, or ""
    double seconds = 0;                     ///< wall time
};

/// The outcome of a run.
struct run_outcome {
    std::vector<property_outcome> properties;  ///< in run order
    double seconds = 0;                        ///< wall time
    std::size_t requests = 0;                  ///< requests sent (remembered answers excluded)
    std::size_t faults = 0;                    ///< requests that got no usable answer
    std::size_t starts = 0;                    ///< implementation processes started
    /// Whether every property passed.
    bool passed() const noexcept;
};

/// Where a run is, for a progress display.
struct run_progress {
    std::size_t index = 0;      ///< property number, from 0
    std::size_t count = 0;      ///< properties in the run
    std::string_view property;  ///< its name
    int tested = 0;             ///< problems tried so far
    int planned = 0;            ///< problems planned (fixed + generated)
    bool shrinking = false;     ///< shrinking a failure
    std::size_t shrinks = 0;    ///< simplifications taken so far
};

/// Called after every tried problem; must be cheap.
using progress_callback = std::function<void(const run_progress&)>;

/// Runs each property of options.properties against `impl`: the fixed cases, then the
/// counterexamples earlier properties of this run shrank to (when they fit the property's
/// generator configuration), then options.max_success generated problems; the first failure is
/// shrunk within options.shrink. The fixed cases of options.jobs properties are tried at once
/// (what a property finds there does not depend on the others); the rest runs property after
/// property. Throws std::invalid_argument for an unknown property name.
run_outcome run_check(memo_implementation& impl, const run_options& options,
                      const progress_callback& progress = {});

}  // namespace xentcheck::check
