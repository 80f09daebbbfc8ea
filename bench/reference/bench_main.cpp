/// xentcheck_bench entry point: registers every suite, then runs Google Benchmark's main loop.
#include <benchmark/benchmark.h>

#include "bench_support.h"

int main(int argc, char** argv) {
    xentcheck::bench::register_reference_benchmarks();
    xentcheck::bench::register_bound_benchmarks();
    xentcheck::bench::register_placement_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
