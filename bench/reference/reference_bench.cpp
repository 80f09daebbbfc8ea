/// Reference forward + backward benchmarks: cross_entropy with gradient, index targets, mean.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench_support.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/kernels.h"

namespace xentcheck::bench {
namespace {

/// The shapes of the forward + backward suite: one huge row, a large batch of ImageNet-sized
/// rows, and a few vocabulary-sized rows (the performance targets), plus a class-count sweep
/// at about 4 million logits (40960x100, 400x10000) and two small batches (64x1000, 1x50000)
/// that show what a second thread costs where there is little work.
constexpr shape forward_backward_shapes[] = {{1, 1000000}, {4096, 1000}, {8, 128000}, {40960, 100},
                                             {400, 10000}, {64, 1000},   {1, 50000}};

/// One call of the reference per iteration: loss (mean) and gradient, no probabilities, on
/// `threads` threads. Bytes processed: the logits read plus the gradient written. With two
/// threads Google Benchmark's CPU time sees only the calling thread: compare real_time (wall).
/// (UseRealTime() is not set because it would append "/real_time" to the names.)
/// The logits and gradient of one shape, shared by its one- and two-thread benchmarks: with
/// buffers of their own, two benchmarks of the same code (threads = 1 in both) differed by 12%
/// at 1x50000 float32, from where their memory landed.
template <class T>
placed_pair<T>& buffers_for(shape s) {
    static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<placed_pair<T>>> cache;
    auto& slot = cache[{s.rows, s.classes}];
    if (!slot) slot = std::make_unique<placed_pair<T>>(random_logits<T>(s, 1));
    return *slot;
}

template <class T>
void forward_backward(benchmark::State& state, shape s, std::size_t threads) {
    placed_pair<T>& buffers = buffers_for<T>(s);
    const std::span<const T> logits = buffers.input();
    const std::span<T> grad = buffers.output();
    const std::vector<std::int64_t> targets = random_targets(s, 2);
    const target_view target = target_view::indices(targets);
    cross_entropy_options options{};  // mean, no weights, no smoothing
    options.threads = threads;
    std::vector<T> loss(1);
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
    state.SetLabel(std::string(to_string(active_kernel_path())) + " kernels");
}

}  // namespace

void register_reference_benchmarks() {
    for (const shape s : forward_backward_shapes) {
        for (const std::size_t threads : {1, 2}) {
            const std::string suffix = threads == 1 ? "" : "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark((benchmark_name("float32", s) + suffix).c_str(),
                                         forward_backward<float>, s, threads)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark((benchmark_name("float64", s) + suffix).c_str(),
                                         forward_backward<double>, s, threads)
                ->Unit(benchmark::kMillisecond);
        }
    }
}

/// The shapes of the suites, for the bound suite.
std::span<const shape> reference_shapes() {
    return forward_backward_shapes;
}

}  // namespace xentcheck::bench
