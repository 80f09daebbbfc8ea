/// Check-run benchmarks: xentcheck's own CPU time per request over whole `check --impl` runs of
/// problems of up to 16 classes, against a real process speaking the JSON-lines protocol. Part
/// of xentcheck_bench.
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <time.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "generation_options.h"
#include "xentcheck/check/check_run.h"
#include "xentcheck/check/external_implementation.h"
#include "xentcheck/check/memo_implementation.h"
#include "xentcheck/check/serve_library.h"

namespace {

using namespace xentcheck;

/// The calling thread's CPU time in seconds (user and system: the protocol's system calls
/// count; the implementation's process does not).
double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// The calling thread's CPU time in user space in seconds: what xentcheck itself computes,
/// without the kernel's work for the pipes and for switching to and from the waits. Linux
/// splits a thread's exact run time into user and system by the timer ticks that found it in
/// each, so over a run of 0.1 s or more this is a sample of some hundreds of ticks.
double thread_user_seconds() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec);
}

/// A check run's options (`check --dtype ... --targets ... --reduction ... --features ...`,
/// the generators as the command configures them) with classes capped at `max_classes`.
struct run_setup {
    std::string dtype, targets, reduction;
    std::vector<std::string> features;
    std::size_t max_classes = 16;

    check::run_options options(std::uint64_t seed) const {
        check::run_options o;
        o.config = cli::generator_config_for(dtype, targets, reduction, features);
        o.config.max_classes = max_classes;
        o.seed = seed;
        o.properties = check::default_check_properties();
        return o;
    }
};

/// Whole check runs (every default property, 100 problems each, seeds 1, 2, 3, ...) against the
/// example C ABI library behind `xentcheck serve-lib` as a plain --impl program: requests and
/// answers are JSON lines on pipes, as for any implementation. Each run has a fresh memory of
/// answers (a new memo_implementation); the process lives across runs (started by an untimed
/// run first). Counters, over the requests sent: user_us_per_request, this thread's CPU time
/// in user space (generation, properties, the reference and tolerances, encoding, decoding,
/// comparing: what the per-request target reads); us_per_request, that plus the kernel's time
/// for the pipes' system calls and the switches around the waits (reported for context); and
/// the requests per run. The implementation's own time is not in them (another process), nor
/// the waits for it.
/// Unlike the command, the benchmark keeps glibc's default allocator settings: the command's
/// keep_freed_arrays and heap_on_huge_pages are about arrays above glibc's 128 KiB mapping
/// threshold, and a problem capped at 16 classes has at most 24 x 16 logits.
void BM_check_run(benchmark::State& state, const run_setup& setup) {
    std::signal(SIGPIPE, SIG_IGN);  // as `xentcheck check` does (plain writes to the pipe)
    check::external_implementation impl(
        "example", check::serve_library_command(XENTCHECK_BENCH_CLI, XENTCHECK_BENCH_EXAMPLE_ABI));
    {
        check::memo_implementation warm(impl);
        check::run_check(warm, setup.options(0x5eed));
    }
    std::uint64_t seed = 0;
    std::size_t requests = 0;
    double cpu = 0;
    double user = 0;
    for (auto _ : state) {
        check::memo_implementation memo(impl);
        const double start = thread_cpu_seconds();
        const double start_user = thread_user_seconds();
        const check::run_outcome outcome = check::run_check(memo, setup.options(++seed));
        cpu += thread_cpu_seconds() - start;
        user += thread_user_seconds() - start_user;
        requests += outcome.requests;
        if (!outcome.passed() || outcome.faults != 0) {
            state.SkipWithError("the example implementation failed a property or faulted");
            break;
        }
    }
    if (requests == 0) return;
    state.counters["us_per_request"] = cpu * 1e6 / static_cast<double>(requests);
    state.counters["user_us_per_request"] = user * 1e6 / static_cast<double>(requests);
    state.counters["requests_per_run"] =
        static_cast<double>(requests) / static_cast<double>(state.iterations());
}

/// The default run (float64, index targets, mean, no optional inputs), and two that exercise
/// everything else a run can draw: float32 with weights, ignore_index and label smoothing
/// (summed), and float64 probability targets with weights and smoothing (per row).
const bool registered = [] {
    const run_setup runs[] = {
        {"float64", "index", "mean", {}},
        {"float32", "index", "sum", {"weight", "ignore_index", "label_smoothing"}},
        {"float64", "probs", "none", {"weight", "label_smoothing"}},
    };
    const char* names[] = {"BM_check_run/default/16", "BM_check_run/float32_features/16",
                           "BM_check_run/probs_features/16"};
    for (std::size_t k = 0; k < std::size(runs); ++k) {
        benchmark::RegisterBenchmark(names[k], BM_check_run, runs[k])
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
