/// Bound benchmarks: what no forward + backward can beat on this machine, per shape and dtype:
/// the exponentials alone (the fastest vector exp of glibc's libmvec) and one memory pass that
/// reads the logits and writes the gradient; at (4096, 1000) also on two threads, to show what
/// the machine's two CPUs give for each kind of work.
#include <benchmark/benchmark.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "bench_support.h"
#include "parallel.h"

#if defined(XENTCHECK_BENCH_LIBMVEC) && defined(__x86_64__)
#include <immintrin.h>
extern "C" __m256d _ZGVdN4v_exp(__m256d);  // glibc libmvec, AVX2 variant (4 doubles)
extern "C" __m256 _ZGVdN8v_expf(__m256);   // glibc libmvec, AVX2 variant (8 floats)
#define XENTCHECK_HAVE_MVEC 1
#endif

namespace xentcheck::bench {
namespace {

/// The exponentials are taken block by block through an L1-sized buffer, so the time is the exp
/// throughput alone, with no memory traffic.
constexpr std::size_t exp_block = 2048;

#if defined(XENTCHECK_HAVE_MVEC)
__attribute__((target("avx2,fma"))) void mvec_exp(const double* x, double* y, std::size_t n) {
    std::size_t j = 0;
    for (; j + 4 <= n; j += 4)
        _mm256_storeu_pd(y + j, _ZGVdN4v_exp(_mm256_loadu_pd(x + j)));
    for (; j < n; ++j)
        y[j] = std::exp(x[j]);
}
__attribute__((target("avx2,fma"))) void mvec_exp(const float* x, float* y, std::size_t n) {
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(y + j, _ZGVdN8v_expf(_mm256_loadu_ps(x + j)));
    for (; j < n; ++j)
        y[j] = std::exp(x[j]);
}
bool have_mvec() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
template <class T>
void mvec_exp(const T*, T*, std::size_t) {}
bool have_mvec() {
    return false;
}
#endif

/// exp of every logit (minus 10, so no result overflows), one block at a time; with two threads
/// each takes half of the logits, through a block of its own.
template <class T>
void exp_bound(benchmark::State& state, shape s, std::size_t threads) {
    std::vector<T> logits = random_logits<T>(s, 1);
    for (auto& z : logits)
        z -= T(10);
    std::vector<std::vector<T>> blocks(threads, std::vector<T>(exp_block));
    const bool vector = have_mvec();
    const auto part = [&](std::size_t k) {
        std::vector<T>& block = blocks[k];
        const std::size_t end = logits.size() * (k + 1) / threads;
        for (std::size_t b = logits.size() * k / threads; b < end; b += exp_block) {
            const std::size_t n = std::min(exp_block, end - b);
            if (vector) {
                mvec_exp(logits.data() + b, block.data(), n);
            } else {
                for (std::size_t j = 0; j < n; ++j)
                    block[j] = std::exp(logits[b + j]);
            }
            benchmark::DoNotOptimize(block.data());
            benchmark::ClobberMemory();
        }
    };
    for (auto _ : state)
        detail::run_parts(threads, part);  // as the reference shares out its work
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(logits.size()));
    state.SetLabel(vector ? "libmvec AVX2 exp" : "std::exp (no AVX2 libmvec)");
}

/// One pass that reads every logit and writes a gradient entry (a scaled copy), over buffers
/// of the forward + backward benchmark's size.
template <class T>
void memory_bound(benchmark::State& state, shape s, std::size_t threads) {
    placed_pair<T> buffers(random_logits<T>(s, 1));  // placed as in the reference benchmarks
    const std::span<const T> logits = buffers.input();
    const std::span<T> grad = buffers.output();
    const T factor = T(0.5);
    const auto part = [&](std::size_t k) {
        const T* in = logits.data();
        T* out = grad.data();
        const std::size_t end = logits.size() * (k + 1) / threads;
        for (std::size_t j = logits.size() * k / threads; j < end; ++j)
            out[j] = factor * in[j];
    };
    for (auto _ : state) {
        detail::run_parts(threads, part);  // as the reference shares out its work
        benchmark::DoNotOptimize(grad.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(logits.size()) * 2 *
                            static_cast<std::int64_t>(sizeof(T)));
}

}  // namespace

void register_bound_benchmarks() {
    for (const shape s : reference_shapes()) {
        // Two threads only at the shape of the two-thread target.
        const std::size_t most_threads = s.rows == 4096 && s.classes == 1000 ? 2 : 1;
        for (std::size_t threads = 1; threads <= most_threads; ++threads) {
            const std::string suffix = threads == 1 ? "" : "/threads:2";
            benchmark::RegisterBenchmark(
                (benchmark_name("float32", s, "bound/exp") + suffix).c_str(), exp_bound<float>, s,
                threads)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(
                (benchmark_name("float64", s, "bound/exp") + suffix).c_str(), exp_bound<double>, s,
                threads)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(
                (benchmark_name("float32", s, "bound/memory") + suffix).c_str(),
                memory_bound<float>, s, threads)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(
                (benchmark_name("float64", s, "bound/memory") + suffix).c_str(),
                memory_bound<double>, s, threads)
                ->Unit(benchmark::kMillisecond);
        }
    }
}

}  // namespace xentcheck::bench
