/// Protocol benchmarks: xentcheck's own per-request overhead with --impl (encode the request,
/// decode the response, compare with the reference), and the value scans of a large case's
/// comparison. Part of xentcheck_bench.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <rapidcheck/Random.h>

#include "xentcheck/check/external_implementation.h"
#include "xentcheck/check/protocol.h"
#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/properties/generators.h"
#include "xentcheck/properties/implementation.h"
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

/// The response line (without its '\n') carrying `values` for a request of `shape`.
std::string response_line(const response_values& values, const response_shape& shape) {
    std::string line;
    encode_response(42, values, shape, line);
    line.pop_back();
    return line;
}

/// The response line a correct implementation would send (computed by the reference).
std::string response_line(const request& r) {
    const auto ref = xentcheck::cross_entropy<double>(r.logits, r.classes, r.target(), r.options());
    return response_line({ref.probs, ref.loss, ref.grad}, response_shape::of(r));
}

/// An index into a pool of `size` entries that cycles through them.
struct cycle {
    std::size_t size = 0;
    std::size_t next = 0;
    /// The next index.
    std::size_t advance() {
        const std::size_t k = next;
        next = next + 1 == size ? 0 : next + 1;
        return k;
    }
};

/// Requests as a check run sends them, each with its correct response line. A benchmark that
/// repeats one request lets the branch predictor learn its numbers' digit counts and forms,
/// which a check run never repeats: that flattered decoding by up to half. So the protocol
/// benchmarks cycle through distinct requests, enough of them that their responses hold at
/// least `pool_numbers` numbers (64 responses of 1x4 were still few enough to be learnt), whose
/// rows come from the property generators' logit regimes (gen_logit_row, full size, fixed
/// seeds) and whose targets are varied classes, with label smoothing 0.1.
struct request_pool {
    static constexpr std::size_t pool_numbers = 16384;
    std::vector<request> requests;
    std::vector<std::string> lines;
    cycle order;

    request_pool(std::size_t rows, std::size_t classes) {
        const std::size_t size =
            std::max<std::size_t>(64, pool_numbers / (rows * (2 * classes + 1)));
        for (std::size_t k = 0; k < size; ++k) {
            request r;
            r.rows = rows;
            r.classes = classes;
            for (std::size_t i = 0; i < rows; ++i) {
                const rc::Random random(k * 1000 + i + 1);
                const auto row =
                    xentcheck::properties::gen_logit_row(
                        classes, xentcheck::properties::scalar_type::float64)(random, 100)
                        .value();
                r.logits.insert(r.logits.end(), row.begin(), row.end());
                r.target_indices.push_back(static_cast<std::int64_t>((k * 31 + i * 7) % classes));
            }
            r.label_smoothing = 0.1;
            lines.push_back(response_line(r));
            requests.push_back(std::move(r));
        }
        order.size = requests.size();
    }
    /// The next request's index, cycling.
    std::size_t advance() { return order.advance(); }
};
/// Reference in long double of the double logits, rounded, with its unrounded probabilities
/// (what problem_facts computes), tolerance model for values computed with unit roundoff `u`,
/// three comparisons: what a property does with each answer.
bool compare(std::span<const double> logits, std::size_t classes, const xentcheck::target_view& t,
             const xentcheck::cross_entropy_options& o, double u, const response_values& v) {
    const auto ref = xentcheck::cross_entropy_rounded(logits, classes, t, o);
    const xentcheck::tolerance_model model(xentcheck::measure_problem(u, logits, classes, t, o));
    const auto mags = xentcheck::grad_magnitudes(ref.probs, classes, t, o);
    return xentcheck::compare_values("probs", ref.probs, v.probs, classes, model.probs()).passed &&
           xentcheck::compare_values("loss", ref.loss, v.loss, 1, model.loss()).passed &&
           xentcheck::compare_values("grad", ref.grad, v.grad, classes, model.grad(), mags).passed;
}

bool compare(const request& r, const response_values& v) {
    return compare(r.logits, r.classes, r.target(), r.options(), 0x1p-53, v);
}

void BM_encode_request(benchmark::State& state) {
    request_pool pool(state.range(0), state.range(1));
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_request(pool.requests[pool.advance()], 42, out);
        benchmark::DoNotOptimize(out.data());
    }
}

void BM_decode_response(benchmark::State& state) {
    request_pool pool(state.range(0), state.range(1));
    for (auto _ : state) {
        const std::size_t k = pool.advance();
        outcome o = decode_response(pool.lines[k], 42, response_shape::of(pool.requests[k]));
        benchmark::DoNotOptimize(o.values.grad.data());
    }
    state.counters["line_bytes"] = static_cast<double>(pool.lines[0].size());
}

void BM_compare_with_reference(benchmark::State& state) {
    request_pool pool(state.range(0), state.range(1));
    std::vector<outcome> answers;
    for (std::size_t k = 0; k < pool.requests.size(); ++k)
        answers.push_back(decode_response(pool.lines[k], 42, response_shape::of(pool.requests[k])));
    for (auto _ : state) {
        const std::size_t k = pool.advance();
        benchmark::DoNotOptimize(compare(pool.requests[k], answers[k].values));
    }
}

/// Everything xentcheck does per request except the I/O and the implementation's own time.
void BM_per_request_overhead(benchmark::State& state) {
    request_pool pool(state.range(0), state.range(1));
    std::string out;
    for (auto _ : state) {
        const std::size_t k = pool.advance();
        const request& r = pool.requests[k];
        out.clear();
        encode_request(r, 42, out);
        const outcome o = decode_response(pool.lines[k], 42, response_shape::of(r));
        benchmark::DoNotOptimize(compare(r, o.values));
    }
}

/// The requests of a default check run's cases of up to 16 classes: problems drawn by the
/// properties' generator (every option, target form, dtype and regime as a run draws them) at
/// the sizes of a run of 100 cases (0 to 99, cycling), those of at most 16 classes kept (about
/// 65% of draws), until their responses hold at least 16,384 numbers. Each with the response a
/// correct implementation in its dtype sends (the properties' reference in native arithmetic:
/// double or float, as doubles).
struct check_mix_pool {
    std::vector<xentcheck::properties::problem> problems;
    std::vector<std::string> lines;
    std::size_t numbers = 0, rows = 0;
    cycle order;

    check_mix_pool() {
        const auto gen = xentcheck::properties::gen_problem();
        xentcheck::properties::reference_implementation native(
            xentcheck::properties::reference_implementation::arithmetic::native);
        for (std::uint64_t k = 0; numbers < request_pool::pool_numbers || problems.size() < 64;
             ++k) {
            auto p = gen(rc::Random(k + 1), static_cast<int>(k % 100)).value();
            if (p.classes > 16) continue;
            auto values = native.evaluate(p);
            numbers += values.probs.size() + values.loss.size() + values.grad.size();
            rows += p.rows;
            lines.push_back(response_line(
                {std::move(values.probs), std::move(values.loss), std::move(values.grad)},
                response_shape::of(to_request(p))));
            problems.push_back(std::move(p));
        }
        order.size = problems.size();
    }
};

/// Everything xentcheck does per request, as BM_per_request_overhead, over check_mix_pool: the
/// mean cost of a default check run's requests of up to 16 classes (counters: their mean rows
/// and numbers per response, and the share whose correct answer failed, which must be 0).
void BM_per_request_check_mix(benchmark::State& state) {
    check_mix_pool pool;
    std::string out;
    std::size_t failed = 0, done = 0;
    for (auto _ : state) {
        const std::size_t k = pool.order.advance();
        const auto& p = pool.problems[k];
        const request_ref r = to_request(p);
        out.clear();
        encode_request(r, 42, out);
        const outcome o = decode_response(pool.lines[k], 42, response_shape::of(r));
        const bool passed =
            compare(p.logits, p.classes, r.target(), r.options(), p.unit_roundoff(), o.values);
        failed += passed ? 0 : 1;
        ++done;
        benchmark::DoNotOptimize(passed);
    }
    const auto n = static_cast<double>(pool.problems.size());
    state.counters["requests"] = n;
    state.counters["mean_rows"] = static_cast<double>(pool.rows) / n;
    state.counters["numbers_per_response"] = static_cast<double>(pool.numbers) / n;
    state.counters["failed_share"] = done ? static_cast<double>(failed) / done : 0.0;
}

/// The truth (cross_entropy_rounded) of 8x16 rows whose other logits lie about `range(0)` below
/// the largest: each band of shifts takes its own path (double-double lanes to -650, scaled
/// lanes to -11000, exact zeros below), and a slow one (a microcode
/// assist, the x87 exp) shows here as a band several times slower than the others.
void BM_truth_by_shift(benchmark::State& state) {
    const double depth = -static_cast<double>(state.range(0));
    std::vector<double> logits;
    std::vector<std::int64_t> targets;
    for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 16; ++j)
            logits.push_back(j == 0 ? 0.0 : depth - 0.37 * j - 0.11 * i);
        targets.push_back(i % 16);
    }
    const auto t = xentcheck::target_view::indices(targets);
    for (auto _ : state) {
        const auto r = xentcheck::cross_entropy_rounded(logits, 16, t, {});
        benchmark::DoNotOptimize(r.loss.data());
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
BENCHMARK(BM_per_request_check_mix);
BENCHMARK(BM_truth_by_shift)
    ->Arg(300)
    ->Arg(720)
    ->Arg(745)
    ->Arg(5000)
    ->Arg(10500)
    ->Arg(10990)
    ->Arg(11200)
    ->Arg(11350)
    ->Arg(11380)
    ->Arg(11500);
BENCHMARK(BM_measure_problem)->Args({8, 128000})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_compare_values)->Args({8, 128000})->Unit(benchmark::kMicrosecond);

}  // namespace
