/// Shared pieces of xentcheck_bench: benchmark shapes, names, inputs and the suite registry.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
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

// Suites: each registers its benchmarks with benchmark::RegisterBenchmark.

/// Reference forward + backward (reference_bench.cpp), names "<dtype>/<N>x<C>" and
/// "<dtype>/<N>x<C>/threads:2".
void register_reference_benchmarks();
/// The shapes the reference suite times (the bound suite uses the same).
std::span<const shape> reference_shapes();
/// The exp-throughput and memory-pass bounds (bound_bench.cpp), names "bound/exp/<dtype>/<N>x<C>"
/// and "bound/memory/<dtype>/<N>x<C>".
void register_bound_benchmarks();

}  // namespace xentcheck::bench
