/// Placement benchmarks: where the second of two threads runs, with a thread started per call
/// and with the library's worker team (lib/src/worker_team.h), on Linux (sched_getcpu).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <thread>

#include "bench_support.h"
#include "parallel.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace xentcheck::bench {
namespace {

/// Length of each of a call's two parts: about what each thread does at float64 (4096, 1000).
constexpr auto part_length = std::chrono::microseconds(2400);

/// Keeps this thread's CPU busy for `length` of wall time.
void busy_for(std::chrono::microseconds length) {
    const auto end = std::chrono::steady_clock::now() + length;
    while (std::chrono::steady_clock::now() < end)
        benchmark::ClobberMemory();
}

int current_cpu() {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

/// One call = two parts of part_length on two threads, started as `team` says. A call whose
/// parts ran on one CPU takes twice as long. Counters: shared_cpu, the fraction of calls whose
/// two parts started on the same CPU (-1 where the CPU cannot be asked).
void two_parts(benchmark::State& state, bool team) {
    std::int64_t calls = 0, shared = 0;
    for (auto _ : state) {
        int cpus[2] = {-1, -2};
        const auto part = [&](std::size_t k) {
            cpus[k] = current_cpu();
            busy_for(part_length);
        };
        if (team) {
            detail::run_parts(2, part);
        } else {
            std::jthread other(part, std::size_t{1});
            part(0);
        }
        ++calls;
        shared += cpus[0] == cpus[1];
    }
    state.counters["shared_cpu"] =
        current_cpu() < 0 ? -1.0 : static_cast<double>(shared) / static_cast<double>(calls);
}

}  // namespace

void register_placement_benchmarks() {
    benchmark::RegisterBenchmark("placement/thread_per_call", two_parts, false)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("placement/worker_team", two_parts, true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

}  // namespace xentcheck::bench
