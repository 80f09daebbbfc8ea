/// xentcheck_accuracy: measures the reference's error against the MPFR oracle across regimes.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dump.h"
#include "measure.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/oracle/error.h"
#include "xentcheck/oracle/oracle.h"
#include "xentcheck/oracle/sampler.h"

namespace {

using namespace xentcheck;

constexpr const char* usage =
    "usage: xentcheck_accuracy [--cases N] [--seed S] [--precision BITS] [--max-classes C]\n"
    "                          [--dump FILE] [--show-case ID]\n"
    "Draws N cases (default 100000) round-robin over the regimes, computes each with\n"
    "xentcheck::cross_entropy<double> and with the MPFR oracle, and prints per regime the\n"
    "largest error of each output (docs/accuracy.md defines the measures).\n"
    "  --dump FILE     also write the cases and oracle values for "
    "bench/accuracy/torch_accuracy.py\n"
    "  --show-case ID  print one case's inputs and every value's error, then exit\n";

struct settings {
    std::uint64_t cases = 100000;
    std::uint64_t seed = 1;
    long precision = 256;
    std::size_t max_classes = 50257;
    std::string dump;
    std::optional<std::uint64_t> show_case;
};

template <class T>
bool parse_number(std::string_view text, T& out) {
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, out);
    return r.ec == std::errc() && r.ptr == end;
}

/// Parses argv; prints the problem and returns nullopt on bad usage.
std::optional<settings> parse(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        if (i + 1 >= argc) {
            std::cerr << "xentcheck_accuracy: " << arg << ": missing value or unknown option\n"
                      << usage;
            return std::nullopt;
        }
        const std::string_view value = argv[++i];
        bool ok = true;
        if (arg == "--cases") {
            ok = parse_number(value, s.cases) && s.cases > 0;
        } else if (arg == "--seed") {
            ok = parse_number(value, s.seed);
        } else if (arg == "--precision") {
            ok = parse_number(value, s.precision) && s.precision >= 64 && s.precision <= 4096;
        } else if (arg == "--max-classes") {
            ok = parse_number(value, s.max_classes) && s.max_classes >= 2;
        } else if (arg == "--dump") {
            s.dump = std::string(value);
        } else if (arg == "--show-case") {
            std::uint64_t id = 0;
            ok = parse_number(value, id);
            s.show_case = id;
        } else {
            std::cerr << "xentcheck_accuracy: unknown option " << arg << "\n" << usage;
            return std::nullopt;
        }
        if (!ok) {
            std::cerr << "xentcheck_accuracy: " << arg << ": bad value \"" << value << "\"\n";
            return std::nullopt;
        }
    }
    return s;
}

oracle::sampled_case case_of(const settings& s, std::uint64_t id) {
    const auto regimes = oracle::all_regimes();
    oracle::shape_options shapes;
    shapes.max_classes = s.max_classes;
    return oracle::draw_case(s.seed, id, regimes[id % regimes.size()], shapes);
}

void print_values(const char* name, std::span<const double> computed,
                  const std::vector<oracle::value>& truth, std::span<const double> magnitude) {
    for (std::size_t k = 0; k < computed.size(); ++k) {
        std::printf("  %s[%zu]: reference %.17g oracle %.17g (residual %.3g): %.3g ulp", name, k,
                    computed[k], truth[k].nearest, truth[k].residual,
                    oracle::ulp_error(computed[k], truth[k]));
        if (!magnitude.empty()) {
            std::printf(", %.3g ulp of magnitude %.6g",
                        oracle::magnitude_error(computed[k], truth[k], magnitude[k]), magnitude[k]);
        }
        std::printf("\n");
    }
}

int show_case(const settings& s, std::uint64_t id) {
    const auto c = case_of(s, id);
    std::printf("case #%llu: regime %s, %zu x %zu, %s targets, reduction %s, eps %.17g, %s\n",
                static_cast<unsigned long long>(id), std::string(oracle::to_string(c.kind)).c_str(),
                c.rows, c.classes, c.index_form ? "index" : "probability",
                std::string(to_string(c.reduce)).c_str(), c.label_smoothing,
                c.weight.empty() ? "no weight" : "weighted");
    if (c.logits.size() > 64) std::printf("  (first 64 logits shown)\n");
    for (std::size_t k = 0; k < c.logits.size() && k < 64; ++k)
        std::printf("  z[%zu] = %.17g%s", k, c.logits[k], (k + 1) % 2 ? "" : "\n");
    std::printf("\n");
    if (c.index_form) {
        for (std::size_t i = 0; i < c.rows; ++i)
            std::printf("  t[%zu] = %lld\n", i, static_cast<long long>(c.indices[i]));
    } else {
        for (std::size_t k = 0; k < c.target_probs.size() && k < 64; ++k)
            std::printf("  y[%zu] = %.17g\n", k, c.target_probs[k]);
    }
    for (std::size_t k = 0; k < c.weight.size() && k < 64; ++k)
        std::printf("  w[%zu] = %.17g\n", k, c.weight[k]);
    const auto target = c.target();
    const auto options = c.options();
    oracle::oracle_options o;
    o.precision = s.precision;
    const auto truth = oracle::evaluate(c.logits, c.classes, target, options, o);
    const auto ref = cross_entropy<double>(c.logits, c.classes, target, options);
    const auto bounds = oracle::bounds_for(c.logits, c.classes, target, options, truth);
    const std::size_t shown = std::min<std::size_t>(ref.probs.size(), 64);
    print_values("probs", std::span(ref.probs).first(shown), truth.probs, {});
    print_values("loss", ref.loss, truth.loss, bounds.loss_magnitude);
    print_values("grad", std::span(ref.grad).first(shown), truth.grad, bounds.grad_magnitude);
    for (const auto& v : oracle::check_against_bounds(ref.probs, ref.loss, ref.grad, truth, bounds))
        std::printf("  outside the documented bound: %s\n", v.to_string().c_str());
    for (const auto& d : oracle::known_reference_differences(c.logits, c.classes, target, options))
        std::printf("  known semantic difference: %s\n", d.c_str());
    return 0;
}

int run(const settings& s) {
    const auto start = std::chrono::steady_clock::now();
    const auto regimes = oracle::all_regimes();
    std::vector<accuracy::regime_stats> stats(regimes.size());
    std::optional<accuracy::dump_writer> dump;
    if (!s.dump.empty()) dump.emplace(s.dump, s.seed, s.cases, s.precision);
    oracle::oracle_options o;
    o.precision = s.precision;
    std::size_t values = 0;
    for (std::uint64_t id = 0; id < s.cases; ++id) {
        const auto c = case_of(s, id);
        const auto target = c.target();
        const auto options = c.options();
        const auto truth = oracle::evaluate(c.logits, c.classes, target, options, o);
        const auto ref = cross_entropy<double>(c.logits, c.classes, target, options);
        const auto bounds = oracle::bounds_for(c.logits, c.classes, target, options, truth);
        auto& st = stats[id % regimes.size()];
        accuracy::measure_case(c, id, ref.probs, ref.loss, ref.grad, truth, bounds, st);
        if (!oracle::known_reference_differences(c.logits, c.classes, target, options).empty()) {
            ++st.known_differences;
        } else {
            const auto violations =
                oracle::check_against_bounds(ref.probs, ref.loss, ref.grad, truth, bounds);
            if (!violations.empty() && st.bound_violations == 0) st.first_violation = id;
            st.bound_violations += violations.size();
        }
        values += 2 * c.logits.size() + ref.loss.size();
        if (dump) dump->write(id, c, truth, bounds, ref);
    }
    if (dump) dump->close();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::cout << "## xentcheck::cross_entropy<double> against the oracle (" << s.cases
              << " cases, seed " << s.seed << ", " << values << " values, " << s.precision
              << "-bit start, max classes " << s.max_classes << ")\n\n";
    accuracy::print_table(std::cout, stats, true);
    std::cout << "\nCase ids of each maximum (reproduce with --seed " << s.seed
              << " --show-case ID):\n\n";
    accuracy::print_worst_cases(std::cout, stats);
    std::printf("\nelapsed: %.1f s\n", seconds);
    if (dump) std::cout << "dump: " << s.dump << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto s = parse(argc, argv);
    if (!s) return 2;
    try {
        return s->show_case ? show_case(*s, *s->show_case) : run(*s);
    } catch (const std::exception& e) {
        std::cerr << "xentcheck_accuracy: " << e.what() << "\n";
        return 2;
    }
}
