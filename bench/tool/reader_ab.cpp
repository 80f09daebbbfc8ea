/// reader_ab.cpp: two versions of the JSON number reader (xentcheck/common/json_number_reader.h)
/// timed against each other in one process, in alternating 2 ms slices, over response-like rows
/// of numbers. Built and run by bench/reader_ab.sh, which supplies the other version as
/// READER_A (its namespace renamed to xentcheck::common_a); not part of the CMake build. On
/// this machine, whose speed moves by up to 2x within minutes, separate runs of two binaries
/// cannot resolve a few percent; alternating slices see the same phase.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include READER_A
#include "xentcheck/common/json_number_reader.h"

namespace {

/// A row of numbers in a response line: its text starts at `start` and holds `count` numbers.
struct row_text {
    std::size_t start = 0, count = 0;
};

/// Response-like text: rows of 16 probabilities and 16 gradient entries (label smoothing 0.1,
/// mean over 8 rows) of logits drawn from a few regimes (moderate, wide with underflowing
/// classes, one dominant class), printed shortest round-trip as check's responses are.
std::string response_text(std::size_t rows, std::vector<row_text>& layout, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 1);
    std::string text = "{\"id\":1,\"probs\":[";
    const auto number = [&](double v) {
        char buf[32];
        text.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    };
    constexpr std::size_t classes = 16;
    for (std::size_t i = 0; i < rows; ++i) {
        constexpr double scales[] = {3, 40, 300};
        const double scale = scales[rng() % 3];
        std::vector<double> z(classes), p(classes);
        for (double& v : z)
            v = scale * normal(rng);
        if (rng() % 4 == 0) z[rng() % classes] += 50;
        const double m = *std::max_element(z.begin(), z.end());
        double sum = 0;
        for (std::size_t j = 0; j < classes; ++j)
            sum += p[j] = std::exp(z[j] - m);
        const std::size_t target = rng() % classes;
        for (const bool grad : {false, true}) {
            text += "[";
            layout.push_back({text.size(), classes});
            for (std::size_t j = 0; j < classes; ++j) {
                const double q = p[j] / sum;
                const double y = 0.1 / classes + (j == target ? 0.9 : 0.0);
                number(grad ? (q - y) / 8 : q);
                text += j + 1 < classes ? "," : "]";
            }
            text += ",";
        }
    }
    text += "\"loss\":1}";
    text.append(64, ' ');  // slack, as a line read from a pipe has its buffer's
    return text;
}

/// Reads every row with `read`, as the response reader does (the next number right after the
/// separator); returns a checksum so the work is kept.
template <class Read>
[[gnu::noinline]] double read_rows(const std::string& text, const std::vector<row_text>& layout,
                                   Read read) {
    double sum = 0;
    const char* const end = text.data() + text.size();
    for (const row_text& r : layout) {
        const char* p = text.data() + r.start;
        for (std::size_t j = 0; j < r.count; ++j) {
            double v = 0;
            const char* q = read(p, end, v);
            if (!q) std::abort();  // every number here is a literal
            sum += v;
            p = q + 1;
        }
    }
    return sum;
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 300;
    std::vector<row_text> layout;
    std::string text;
    for (std::uint64_t k = 0; k < 64; ++k) {  // 64 responses of 8 rows: 8192 numbers
        std::vector<row_text> rows;
        const std::string response = response_text(8, rows, k + 1);
        for (row_text& r : rows)
            r.start += text.size();
        text += response;
        layout.insert(layout.end(), rows.begin(), rows.end());
    }
    std::size_t numbers = 0;
    for (const row_text& r : layout)
        numbers += r.count;
    const auto a = [](const char* p, const char* e, double& v) {
        return xentcheck::common_a::read_json_number(p, e, v);
    };
    const auto b = [](const char* p, const char* e, double& v) {
        return xentcheck::common::read_json_number(p, e, v);
    };
    if (read_rows(text, layout, a) != read_rows(text, layout, b)) {
        std::puts("the two readers disagree");
        return 1;
    }
    std::vector<double> ns_a, ns_b;  // ns per number, one entry per slice
    double sink = 0;
    const auto slice = [&](auto read, std::vector<double>& samples) {
        const auto start = std::chrono::steady_clock::now();
        std::size_t passes = 0;
        do {
            sink += read_rows(text, layout, read);
            ++passes;
        } while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2));
        const std::chrono::duration<double, std::nano> took =
            std::chrono::steady_clock::now() - start;
        samples.push_back(took.count() / static_cast<double>(passes * numbers));
    };
    for (int r = 0; r < rounds; ++r) {  // the order alternates, so neither always goes first
        if (r % 2) {
            slice(a, ns_a);
            slice(b, ns_b);
        } else {
            slice(b, ns_b);
            slice(a, ns_a);
        }
    }
    const auto summary = [](std::vector<double> s) {
        std::sort(s.begin(), s.end());
        double mean = 0;
        for (double v : s)
            mean += v / static_cast<double>(s.size());
        return std::vector<double>{mean, s[s.size() / 10], s[s.size() / 2]};
    };
    const auto sa = summary(ns_a), sb = summary(ns_b);
    std::printf(
        "ns per number over %zu numbers, %d rounds of 2 ms slices (mean, 10th percentile, "
        "median):\n",
        numbers, rounds);
    std::printf("  A: %.2f %.2f %.2f\n", sa[0], sa[1], sa[2]);
    std::printf("  B: %.2f %.2f %.2f\n", sb[0], sb[1], sb[2]);
    std::printf("  B / A: mean %.3f, 10th percentile %.3f, median %.3f\n", sb[0] / sa[0],
                sb[1] / sa[1], sb[2] / sa[2]);
    return sink == 0.5 ? 3 : 0;  // the checksums used, so no pass is optimized away
}
