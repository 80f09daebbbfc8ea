/// test_case_rows_in_threads.cpp: a large case's rows read in two threads (the direct reader's
/// path for arrays of 4 MiB of text or more) give the case the JSON parser + parse_case give,
/// and decline what the one-thread reading declines.
#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "case_fast_parse.h"
#include "case_line_cursor.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// A number's text in one of the forms cases use: shortest, exponent, integer, -0, a
/// non-finite string.
std::string number_text(std::mt19937_64& rng) {
    char buf[64];
    const double v = std::uniform_real_distribution<double>(-30, 30)(rng);
    switch (rng() % 16) {
        case 0:
            return std::to_string(static_cast<int>(v));
        case 1:
            return "-0";
        case 2:
            return "\"-inf\"";
        case 3:
            std::snprintf(buf, sizeof buf, "%.6e", v);
            return buf;
        default:
            return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
}

/// A case of `rows` x `classes` logits; `row_separator` goes between rows (after the comma).
std::string large_case(std::size_t rows, std::size_t classes, std::uint64_t seed,
                       const std::string& row_separator = "") {
    std::mt19937_64 rng(seed);
    std::string text = "{\"name\": \"large\", \"logits\": [";
    for (std::size_t i = 0; i < rows; ++i) {
        if (i != 0) {
            text += ',';
            text += row_separator;
        }
        text += '[';
        for (std::size_t j = 0; j < classes; ++j) {
            if (j != 0) text += rng() % 8 == 0 ? ", " : ",";
            text += number_text(rng);
        }
        text += ']';
    }
    text += "], \"target\": [";
    for (std::size_t i = 0; i < rows; ++i) {
        if (i != 0) text += ',';
        text += std::to_string(rng() % classes);
    }
    return text + "]}";
}

std::optional<eval_case> full_parse(const std::string& text) {
    try {
        eval_case c;
        parse_case(parse_json_text(text), c);
        return c;
    } catch (const json_syntax_error&) {
    } catch (const field_error&) {
    }
    return std::nullopt;
}

TEST(CaseRowsInThreads, LargeCasesAgreeWithTheFullReader) {
    const std::pair<std::size_t, std::string> forms[] = {{2, ""}, {3, " "}, {8, "\n  "}};
    for (const auto& [rows, separator] : forms) {
        const std::string text = large_case(rows, 264000 / rows, rows, separator);
        ASSERT_GE(text.size(), detail::line_reading::cursor::split_rows_from);
        eval_case fast;
        ASSERT_TRUE(detail::fast_parse_case(text, fast)) << rows;
        const std::optional<eval_case> full = full_parse(text);
        ASSERT_TRUE(full.has_value());
        EXPECT_EQ(fast.rows, full->rows);
        EXPECT_EQ(fast.classes, full->classes);
        EXPECT_TRUE(same_bits(fast.given, full->given)) << rows << " rows";
        EXPECT_TRUE(same_bits(fast.logits, full->logits)) << rows << " rows";
        EXPECT_EQ(fast.target_indices, full->target_indices);
    }
}

TEST(CaseRowsInThreads, DeclinesWhatOneThreadDeclines) {
    const std::string good = large_case(4, 66000, 5);
    const auto declined = [](std::string text) {
        eval_case c;
        return !detail::fast_parse_case(text, c);
    };
    ASSERT_FALSE(declined(good));
    const std::size_t last_row = good.rfind("],[") + 3;
    // A number out of double's range, a ragged row and an empty row, each in the last row
    // (the second thread's); an unclosed last row.
    std::string out_of_range = good;
    out_of_range.insert(last_row, "1e999,");
    EXPECT_TRUE(declined(out_of_range));
    std::string ragged = good;
    ragged.erase(last_row, ragged.find(',', last_row) + 1 - last_row);
    EXPECT_TRUE(declined(ragged));
    std::string empty_row = good;
    empty_row.insert(last_row - 1, "[],");
    EXPECT_TRUE(declined(empty_row));
    std::string unclosed = good.substr(0, good.find("]], \"target\"")) + "]";
    EXPECT_TRUE(declined(unclosed));
    // Rows of one length in each thread's half, but not the same length in both.
    std::string short_second_half = good;
    for (const std::size_t row :
         {good.rfind("],[") + 3, good.rfind("],[", good.rfind("],[") - 1) + 3}) {
        short_second_half.erase(row, short_second_half.find(',', row) + 1 - row);
    }
    EXPECT_TRUE(declined(short_second_half));
    // And the first row (the first thread's).
    std::string first_bad = good;
    first_bad.insert(good.find("[[") + 2, "\"x\",");
    EXPECT_TRUE(declined(first_bad));
}

}  // namespace
}  // namespace xentcheck::cli
