/// Shared pieces of xentcheck_bench: benchmark shapes, names, inputs and the suite registry.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace xentcheck::bench {

/// A batch shape: N rows of C classes.
struct shape {
    std::size_t rows = 1;
    std::size_t classes = 1;
};

/// The benchmark name scripts read from --benchmark_format=json: "<dtype>/<N>x<C>", e.g.
/// "float64/8x128000". `suite`, when given, is prepended as "<suite>/".
inline std::string benchmark_name(const char* dtype, shape s, const std::string& suite = "") {
    return (suite.empty() ? "" : suite + "/") + dtype + "/" + std::to_string(s.rows) + "x" +
           std::to_string(s.classes);
}

/// Deterministic logits ~ N(0, 3^2) (Box-Muller on a fixed mt19937_64 stream, so every run
/// and every machine times the same numbers).
template <class T>
std::vector<T> random_logits(shape s, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1p-53; };
    std::vector<T> z(s.rows * s.classes);
    for (auto& v : z) {
        const double r = std::sqrt(-2 * std::log(1 - unit()));
        v = static_cast<T>(3 * r * std::cos(6.283185307179586 * unit()));
    }
    return z;
}

/// Deterministic class-index targets, one per row, uniform over [0, C).
inline std::vector<std::int64_t> random_targets(shape s, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::int64_t> t(s.rows);
    for (auto& v : t)
        v = static_cast<std::int64_t>(rng() % s.classes);
    return t;
}

/// Bytes (mod 4096) from the start of the logits' page to the start of the gradient's page
/// offset in placed_pair: half a page by default; XENTCHECK_BENCH_GRAD_OFFSET overrides it
/// (0 puts both at the same offset in their pages, as two fresh mmap'd allocations are).
inline std::size_t grad_page_offset() {
    static const std::size_t offset = [] {
        const char* v = std::getenv("XENTCHECK_BENCH_GRAD_OFFSET");
        return v ? static_cast<std::size_t>(std::strtoul(v, nullptr, 10)) % 4096 & ~std::size_t{63}
                 : std::size_t{2048};
    }();
    return offset;
}

/// An input and an output array of n values each in one block, both 64-byte aligned, the
/// output starting grad_page_offset() bytes into a page when the input starts a page. The
/// relative placement decides whether the loads of one and the stores of the other alias in
/// their low 12 address bits (a stall on x86); malloc's placement of two vectors changed with
/// what earlier benchmarks had freed, and made the same code up to 15% slower in one benchmark
/// than in the next. Every benchmark now has the same placement.
template <class T>
class placed_pair {
  public:
    placed_pair(std::span<const T> input) : storage_(2 * input.size() + 3 * 4096 / sizeof(T)) {
        const std::size_t n = input.size();
        const auto page_up = [](std::uintptr_t a) { return (a + 4095) & ~std::uintptr_t{4095}; };
        const std::uintptr_t base = page_up(reinterpret_cast<std::uintptr_t>(storage_.data()));
        const std::uintptr_t out = page_up(base + n * sizeof(T)) + grad_page_offset();
        in_ = std::span<T>(reinterpret_cast<T*>(base), n);
        out_ = std::span<T>(reinterpret_cast<T*>(out), n);
        std::copy(input.begin(), input.end(), in_.begin());
    }
    std::span<const T> input() const { return in_; }
    std::span<T> output() { return out_; }

  private:
    std::vector<T> storage_;
    std::span<T> in_, out_;
};

// Suites: each registers its benchmarks with benchmark::RegisterBenchmark.

/// Reference forward + backward (reference_bench.cpp), names "<dtype>/<N>x<C>" and
/// "<dtype>/<N>x<C>/threads:2".
void register_reference_benchmarks();
/// The shapes the reference suite times (the bound suite uses the same).
std::span<const shape> reference_shapes();
/// The exp-throughput and memory-pass bounds (bound_bench.cpp), names "bound/exp/<dtype>/<N>x<C>"
/// and "bound/memory/<dtype>/<N>x<C>".
void register_bound_benchmarks();
/// Where the second of two threads runs, started per call or taken from the library's worker team
/// (placement_bench.cpp), names "placement/thread_per_call" and "placement/worker_team".
void register_placement_benchmarks();

}  // namespace xentcheck::bench
