/// `xentcheck eval` benchmarks: reading a case line (direct reader and full JSON parser),
/// evaluating it, writing its JSON report entry, and the three together. Part of xentcheck_bench.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "case_fast_parse.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/cli/json_numbers.h"
#include "xentcheck/cli/json_parse.h"
#include "xentcheck/cli/report.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck::cli {
namespace {

/// A case line like bench/make_eval_input.py writes: logits uniform in [-4, 4), class-index
/// targets (reduction mean) and expect probs, loss and grad from the float64 reference, numbers
/// in shortest round-trip form. 1-D logits for one row, else N x C.
std::string case_line(std::size_t rows, std::size_t classes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> z(rows * classes);
    std::vector<std::int64_t> t(rows);
    for (auto& v : z)
        v = static_cast<double>(rng() >> 11) * 0x1p-53 * 8 - 4;
    for (auto& v : t)
        v = static_cast<std::int64_t>(rng() % classes);
    const auto r = xentcheck::cross_entropy<double>(z, classes, target_view::indices(t));
    const auto matrix = [&](const std::vector<double>& v) {
        std::string s = rows > 1 ? "[" : "";
        for (std::size_t i = 0; i < rows; ++i) {
            s += i ? ",[" : "[";
            for (std::size_t j = 0; j < classes; ++j) {
                if (j) s += ',';
                s += json_number(v[i * classes + j]);
            }
            s += ']';
        }
        return rows > 1 ? s + "]" : s;
    };
    std::string target;
    if (rows == 1) {
        target = std::to_string(t[0]);
    } else {
        target = "[";
        for (std::size_t i = 0; i < rows; ++i)
            target.append(i ? "," : "").append(std::to_string(t[i]));
        target += "]";
    }
    return "{\"logits\":" + matrix(z) + ",\"target\":" + target +
           ",\"expect\":{\"probs\":" + matrix(r.probs) + ",\"loss\":" + json_number(r.loss[0]) +
           ",\"grad\":" + matrix(r.grad) + "}}";
}

/// Distinct lines, so caches see a realistic mix rather than one repeated case.
std::vector<std::string> case_lines(std::size_t rows, std::size_t classes) {
    std::vector<std::string> lines;
    for (std::uint64_t k = 0; k < 64; ++k)
        lines.push_back(case_line(rows, classes, 1000 + k));
    return lines;
}

void set_counters(benchmark::State& state, const std::vector<std::string>& lines) {
    state.SetItemsProcessed(state.iterations());  // cases
    state.counters["line_bytes"] = static_cast<double>(lines[0].size());
}

/// The direct reader (what `eval` uses for JSON Lines).
void BM_read_case_direct(benchmark::State& state) {
    const auto lines = case_lines(state.range(0), state.range(1));
    eval_case c;
    std::size_t k = 0;
    for (auto _ : state) {
        if (!detail::fast_parse_case(lines[k++ % lines.size()], c)) state.SkipWithError("declined");
        benchmark::DoNotOptimize(c.logits.data());
    }
    set_counters(state, lines);
}

/// The full reader: JSON document (nlohmann, with bare-token and repeated-key handling) and
/// parse_case (what `eval` uses for other files and for every line the direct reader declines).
void BM_read_case_json(benchmark::State& state) {
    const auto lines = case_lines(state.range(0), state.range(1));
    eval_case c;
    nlohmann::json doc;
    bare_token_rewrite scratch;
    std::size_t k = 0;
    for (auto _ : state) {
        parse_json_text(lines[k++ % lines.size()], doc, scratch);
        parse_case(doc, c);
        benchmark::DoNotOptimize(c.logits.data());
    }
    set_counters(state, lines);
}

std::vector<eval_case> parsed_cases(const std::vector<std::string>& lines) {
    std::vector<eval_case> cases(lines.size());
    for (std::size_t k = 0; k < lines.size(); ++k)
        detail::fast_parse_case(lines[k], cases[k]);
    return cases;
}

/// The reference and every check (evaluator::evaluate).
void BM_evaluate_case(benchmark::State& state) {
    const auto lines = case_lines(state.range(0), state.range(1));
    const auto cases = parsed_cases(lines);
    evaluator ev;
    std::size_t k = 0;
    for (auto _ : state) {
        const evaluation& e = ev.evaluate(cases[k++ % cases.size()]);
        if (e.failed()) state.SkipWithError("a check failed");
        benchmark::DoNotOptimize(&e);
    }
    set_counters(state, lines);
}

/// Writes to /dev/null through the report's buffered sink.
struct null_output {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::fopen("/dev/null", "wb"),
                                                         &std::fclose};
    output_sink sink{file.get()};
};

/// One case entry of the JSON report (the case evaluated once, outside the loop).
void BM_json_report_case(benchmark::State& state) {
    const auto lines = case_lines(state.range(0), state.range(1));
    const auto cases = parsed_cases(lines);
    std::vector<evaluation> results;
    evaluator ev;
    for (const auto& c : cases)
        results.push_back(ev.evaluate(c));
    null_output out;
    const auto report = make_json_report(out.sink, nullptr);
    const std::string file = "cases.jsonl";
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = k++ % cases.size();
        report->add_case(file, cases[i], results[i]);
    }
    set_counters(state, lines);
}

/// Read (direct), evaluate and report one line: `eval --format json` per case, without the file
/// reading.
void BM_eval_case_end_to_end(benchmark::State& state) {
    const auto lines = case_lines(state.range(0), state.range(1));
    null_output out;
    const auto report = make_json_report(out.sink, nullptr);
    const std::string file = "cases.jsonl";
    eval_case c;
    evaluator ev;
    std::size_t k = 0;
    for (auto _ : state) {
        c.index = k;
        if (!detail::fast_parse_case(lines[k++ % lines.size()], c)) state.SkipWithError("declined");
        report->add_case(file, c, ev.evaluate(c));
    }
    set_counters(state, lines);
}

/// Shapes N x C: the 3-class cases of the throughput target, and a few wider ones.
#define XENTCHECK_EVAL_SHAPES Args({1, 3})->Args({4, 16})->Args({1, 1000})
BENCHMARK(BM_read_case_direct)->XENTCHECK_EVAL_SHAPES;
BENCHMARK(BM_read_case_json)->XENTCHECK_EVAL_SHAPES;
BENCHMARK(BM_evaluate_case)->XENTCHECK_EVAL_SHAPES;
BENCHMARK(BM_json_report_case)->XENTCHECK_EVAL_SHAPES;
BENCHMARK(BM_eval_case_end_to_end)->XENTCHECK_EVAL_SHAPES;

}  // namespace
}  // namespace xentcheck::cli
