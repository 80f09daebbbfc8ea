/// Protocol benchmarks: xentcheck's own per-request overhead with --impl (encode the request,
/// decode the response, compare with the reference), and the value scans of a large case's
/// comparison. Part of xentcheck_bench.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <vector>

#include "xentcheck/check/protocol.h"
#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace {

using namespace xentcheck::check;

request bench_request(std::size_t rows, std::size_t classes) {
    request r;
    r.rows = rows;
    r.classes = classes;
    for (std::size_t k = 0; k < rows * classes; ++k)
        r.logits.push_back(static_cast<double>((k * 7919) % 1000) / 137.0 - 3.5);
    for (std::size_t i = 0; i < rows; ++i)
        r.target_indices.push_back(static_cast<std::int64_t>(i % classes));
    r.label_smoothing = 0.1;
    return r;
}

/// The response line a correct implementation would send (computed by the reference).
std::string response_line(const request& r, std::int64_t id) {
    const auto ref = xentcheck::cross_entropy<double>(r.logits, r.classes, r.target(), r.options());
    std::string line;
    encode_response(id, {ref.probs, ref.loss, ref.grad}, response_shape::of(r), line);
    line.pop_back();
    return line;
}

/// Reference in long double of the double logits, rounded, with its unrounded probabilities
/// (what problem_facts computes), tolerance model, three comparisons: what a property does with
/// each answer.
bool compare(const request& r, const response_values& v) {
    const auto ref = xentcheck::cross_entropy_rounded(r.logits, r.classes, r.target(), r.options());
    const xentcheck::tolerance_model model(
        xentcheck::measure_problem(0x1p-53, r.logits, r.classes, r.target(), r.options()));
    const auto mags = xentcheck::grad_magnitudes(ref.probs, r.classes, r.target(), r.options());
    return xentcheck::compare_values("probs", ref.probs, v.probs, r.classes, model.probs())
               .passed &&
           xentcheck::compare_values("loss", ref.loss, v.loss, 1, model.loss()).passed &&
           xentcheck::compare_values("grad", ref.grad, v.grad, r.classes, model.grad(), mags)
               .passed;
}

void BM_encode_request(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_request(r, 42, out);
        benchmark::DoNotOptimize(out.data());
    }
}

void BM_decode_response(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    const std::string line = response_line(r, 42);
    for (auto _ : state) {
        outcome o = decode_response(line, 42, response_shape::of(r));
        benchmark::DoNotOptimize(o.values.grad.data());
    }
    state.counters["line_bytes"] = static_cast<double>(line.size());
}

void BM_compare_with_reference(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    const outcome o = decode_response(response_line(r, 42), 42, response_shape::of(r));
    for (auto _ : state)
        benchmark::DoNotOptimize(compare(r, o.values));
}

/// Everything xentcheck does per request except the I/O and the implementation's own time.
void BM_per_request_overhead(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    const std::string line = response_line(r, 42);
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_request(r, 42, out);
        const outcome o = decode_response(line, 42, response_shape::of(r));
        benchmark::DoNotOptimize(compare(r, o.values));
    }
}

/// The tolerance model's inputs for a large case (rows x classes, 1M values at 8 x 128000): the
/// problem's measure and the gradient's magnitudes, which scan every value.
void BM_measure_problem(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    const auto ref = xentcheck::cross_entropy<double>(r.logits, r.classes, r.target(), r.options());
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            xentcheck::measure_problem(0x1p-53, r.logits, r.classes, r.target(), r.options()));
        benchmark::DoNotOptimize(
            xentcheck::grad_magnitudes(ref.probs, r.classes, r.target(), r.options()).data());
    }
}

/// One comparison of a large case's gradient (every value one ulp off, within the bounds), into
/// a reused result as a check run does it.
void BM_compare_values(benchmark::State& state) {
    const request r = bench_request(state.range(0), state.range(1));
    const auto ref = xentcheck::cross_entropy<double>(r.logits, r.classes, r.target(), r.options());
    std::vector<double> actual = ref.grad;
    for (double& v : actual)
        v = std::nextafter(v, 1.0);
    const xentcheck::tolerance_model model(
        xentcheck::measure_problem(0x1p-53, r.logits, r.classes, r.target(), r.options()));
    const auto mags = xentcheck::grad_magnitudes(ref.probs, r.classes, r.target(), r.options());
    xentcheck::check_result result;
    for (auto _ : state) {
        xentcheck::compare_values(result, "grad", ref.grad, actual, r.classes, model.grad(), mags);
        benchmark::DoNotOptimize(result.worst_ratio);
    }
}

#define XENTCHECK_SHAPES \
    Args({1, 4})->Args({1, 16})->Args({2, 16})->Args({4, 16})->Args({8, 16})->Args({32, 16})
BENCHMARK(BM_encode_request)->XENTCHECK_SHAPES;
BENCHMARK(BM_decode_response)->XENTCHECK_SHAPES;
BENCHMARK(BM_compare_with_reference)->XENTCHECK_SHAPES;
BENCHMARK(BM_per_request_overhead)->XENTCHECK_SHAPES;
BENCHMARK(BM_measure_problem)->Args({8, 128000})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_compare_values)->Args({8, 128000})->Unit(benchmark::kMicrosecond);

}  // namespace
