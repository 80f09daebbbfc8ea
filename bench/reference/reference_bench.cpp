/// Reference forward + backward benchmarks: cross_entropy with gradient, index targets, mean.
#include <benchmark/benchmark.h>

#include <span>
#include <vector>

#include "bench_support.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck::bench {
namespace {

/// The shapes of the forward + backward suite: one huge row, a large batch of ImageNet-sized
/// rows, and a few vocabulary-sized rows.
constexpr shape forward_backward_shapes[] = {{1, 1000000}, {4096, 1000}, {8, 128000}};

/// One call of the reference per iteration: loss (mean) and gradient, no probabilities.
/// Bytes processed: the logits read plus the gradient written.
template <class T>
void forward_backward(benchmark::State& state, shape s) {
    const std::vector<T> logits = random_logits<T>(s, 1);
    const std::vector<std::int64_t> targets = random_targets(s, 2);
    const target_view target = target_view::indices(targets);
    const cross_entropy_options options{};  // mean, no weights, no smoothing
    std::vector<T> loss(1), grad(logits.size());
    for (auto _ : state) {
        cross_entropy<T>(logits, s.classes, target, options, loss, grad);
        benchmark::DoNotOptimize(loss.data());
        benchmark::DoNotOptimize(grad.data());
        benchmark::ClobberMemory();
    }
    const auto elements = static_cast<std::int64_t>(logits.size());
    state.SetBytesProcessed(state.iterations() * elements * 2 *
                            static_cast<std::int64_t>(sizeof(T)));
    state.SetItemsProcessed(state.iterations() * elements);
}

}  // namespace

void register_reference_benchmarks() {
    for (const shape s : forward_backward_shapes) {
        benchmark::RegisterBenchmark(benchmark_name("float32", s).c_str(), forward_backward<float>,
                                     s)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(benchmark_name("float64", s).c_str(), forward_backward<double>,
                                     s)
            ->Unit(benchmark::kMillisecond);
    }
}

}  // namespace xentcheck::bench
