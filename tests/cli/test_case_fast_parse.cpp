/// The direct case-line reader against the JSON parser + parse_case: it accepts only what they
/// accept, gives the identical case (bit for bit), and handles the common forms itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "case_fast_parse.h"
#include "cli_test_support.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

using json = nlohmann::json;

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Every field of the two cases, doubles compared bit for bit (so -0 and +0 differ).
::testing::AssertionResult same_case(const eval_case& a, const eval_case& b) {
    std::vector<std::string> differ;
    const auto check = [&](bool equal, const char* field) {
        if (!equal) differ.emplace_back(field);
    };
    check(a.index == b.index && a.line == b.line, "index/line");
    check(a.name == b.name, "name");
    check(a.note == b.note, "note");
    check(a.from_probs == b.from_probs, "from_probs");
    check(a.batched == b.batched && a.rows == b.rows && a.classes == b.classes, "shape");
    check(same_bits(a.given, b.given), "given");
    check(same_bits(a.logits, b.logits), "logits");
    check(a.target_kind == b.target_kind && a.target_is_scalar == b.target_is_scalar,
          "target form");
    check(a.target_indices == b.target_indices, "target_indices");
    check(same_bits(a.target_probs, b.target_probs), "target_probs");
    check(same_bits(a.weight, b.weight), "weight");
    check(a.ignore_index == b.ignore_index, "ignore_index");
    check(same_bits(a.label_smoothing, b.label_smoothing), "label_smoothing");
    check(a.reduction == b.reduction && a.dtype == b.dtype, "reduction/dtype");
    const expected_values &x = a.expect, &y = b.expect;
    check(x.has_probs == y.has_probs && x.has_loss == y.has_loss && x.has_grad == y.has_grad &&
              x.loss_is_array == y.loss_is_array,
          "expect flags");
    check(same_bits(x.probs, y.probs) && same_bits(x.loss, y.loss) && same_bits(x.grad, y.grad),
          "expect values");
    check(a.tolerance.has_value() == b.tolerance.has_value() &&
              (!a.tolerance || (same_bits(a.tolerance->rtol, b.tolerance->rtol) &&
                                same_bits(a.tolerance->atol, b.tolerance->atol))),
          "tolerance");
    if (differ.empty()) return ::testing::AssertionSuccess();
    std::string list;
    for (const auto& d : differ)
        list += " " + d;
    return ::testing::AssertionFailure() << "fields differ:" << list;
}

/// What the full reader makes of `text`: the case, or nothing when it rejects it.
std::optional<eval_case> full_parse(const std::string& text) {
    try {
        eval_case c;
        c.index = 7;
        c.line = 9;
        parse_case(parse_json_text(text), c);
        return c;
    } catch (const json_syntax_error&) {
    } catch (const field_error&) {
    }
    return std::nullopt;
}

/// Checks one line; returns whether the fast reader took it.
bool check_line(const std::string& text) {
    eval_case fast;
    fast.index = 7;
    fast.line = 9;
    const bool taken = detail::fast_parse_case(text, fast);
    const std::optional<eval_case> full = full_parse(text);
    if (taken) {
        EXPECT_TRUE(full.has_value())
            << "the fast reader accepted what parse_case rejects: " << text;
        if (full) {
            EXPECT_TRUE(same_case(fast, *full)) << text;
        }
    }
    return taken;
}

std::string read_text(const std::string& relative) {
    std::ifstream in(testing::source_path(relative));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Every case object of the fixtures (good, failing and bad), one line each.
std::vector<std::string> fixture_lines() {
    std::vector<std::string> lines;
    const auto add = [&](const json& v) { lines.push_back(v.dump()); };
    for (const char* file :
         {"fixtures/worked_example.json", "fixtures/cases/object.json", "fixtures/cases/array.json",
          "fixtures/cases/wrapped.json", "fixtures/cases/failing/grad_wrt_probs.json",
          "fixtures/bad/expect_shapes.json", "fixtures/bad/fields.json",
          "fixtures/bad/non_finite.json", "fixtures/bad/probs.json", "fixtures/bad/ragged.json",
          "fixtures/bad/strings.json", "fixtures/bad/target.json", "fixtures/bad/types.json"}) {
        const json doc = parse_json_text(read_text(file));
        const json& cases = doc.is_object() && doc.contains("cases") ? doc["cases"] : doc;
        if (cases.is_array()) {
            for (const auto& c : cases)
                add(c);
        } else {
            add(cases);
        }
    }
    for (const char* file : {"fixtures/cases/lines.jsonl", "fixtures/bad/lines.jsonl"}) {
        std::istringstream in(read_text(file));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

/// A number as it might be written: shortest, with an exponent, as an integer, -0, or a
/// non-finite string.
std::string number_text(double x, std::mt19937_64& rng) {
    switch (rng() % 8) {
        case 0:
            return fmt::format("{:e}", x);
        case 1:
            return fmt::format("{:.3E}", x);
        case 2:
            return std::to_string(static_cast<long long>(x));
        default:
            return fmt::format("{}", x);
    }
}

/// A valid case of the forms the fast reader handles, written with varied literals.
std::string random_case(std::mt19937_64& rng) {
    std::uniform_real_distribution<double> unit(0, 1);
    const std::size_t rows = 1 + rng() % 3, classes = 1 + rng() % 5;
    const bool batched = rows > 1 || rng() % 2;
    const bool from_probs = rng() % 5 == 0;
    const bool index_target = rng() % 3 != 0;
    const int ignore_index = rng() % 4 == 0 ? -1 : -100;
    const auto row_of = [&](auto value) {
        std::string s = "[";
        for (std::size_t j = 0; j < classes; ++j)
            s.append(j ? "," : "").append(value(j));
        return s + "]";
    };
    const auto matrix_of = [&](auto value) {
        if (!batched) return row_of([&](std::size_t j) { return value(0, j); });
        std::string s = "[";
        for (std::size_t i = 0; i < rows; ++i)
            s.append(i ? ", " : "").append(row_of([&](std::size_t j) { return value(i, j); }));
        return s + "]";
    };
    std::vector<std::string> members;
    if (rng() % 2) members.push_back(fmt::format("\"name\": \"case {}\"", rng() % 1000));
    if (rng() % 4 == 0) members.push_back("\"note\":\"a note\"");
    if (from_probs) {
        members.push_back("\"probs\": " + matrix_of([&](std::size_t, std::size_t) {
                              return fmt::format("{}", 1.0 / static_cast<double>(classes));
                          }));
    } else {
        members.push_back("\"logits\":" + matrix_of([&](std::size_t, std::size_t) {
                              const std::uint64_t pick = rng() % 12;
                              if (pick == 0) return std::string("\"-inf\"");
                              if (pick == 1) return std::string("-0");
                              if (pick == 2) return std::string("-0.0");
                              return number_text((unit(rng) - 0.5) * 20, rng);
                          }));
    }
    if (index_target) {
        if (!batched && rng() % 2) {
            members.push_back(fmt::format("\"target\": {}", rng() % classes));
        } else if (!batched) {  // a one-hot probability row
            members.push_back("\"target\": " + row_of([&](std::size_t j) {
                                  return std::string(j == 0 ? "1" : "0");
                              }));
        } else {
            std::string t = "[";
            for (std::size_t i = 0; i < rows; ++i)
                t.append(i ? "," : "")
                    .append((rng() % 5 == 0
                                 ? std::to_string(ignore_index)
                                 : fmt::format("{}{}", rng() % classes, rng() % 2 ? "" : ".0")));
            members.push_back("\"target\": " + t + "]");
        }
    } else {
        members.push_back("\"target\": " + matrix_of([&](std::size_t, std::size_t) {
                              return number_text(unit(rng), rng);
                          }));
    }
    if (rng() % 3 == 0) {
        members.push_back("\"weight\": " +
                          row_of([&](std::size_t) { return number_text(unit(rng) * 2, rng); }));
    }
    if (ignore_index != -100) members.push_back("\"ignore_index\": -1");
    if (rng() % 4 == 0) members.push_back(fmt::format("\"label_smoothing\": {}", unit(rng)));
    const char* reductions[] = {"none", "mean", "sum"};
    const char* reduction = reductions[rng() % 3];
    if (rng() % 2)
        members.push_back(fmt::format("\"reduction\": \"{}\"", reduction));
    else
        reduction = "mean";
    if (rng() % 3 == 0) members.push_back("\"dtype\": \"float32\"");
    if (rng() % 2) {
        std::vector<std::string> expect;
        const auto any_matrix = [&] {
            return matrix_of([&](std::size_t, std::size_t) {
                return rng() % 10 == 0 ? std::string("\"nan\"") : number_text(unit(rng), rng);
            });
        };
        if (rng() % 2) expect.push_back("\"probs\": " + any_matrix());
        if (rng() % 2) expect.push_back("\"grad\": " + any_matrix());
        if (rng() % 2) {
            if (std::string(reduction) == "none" && (rows > 1 || rng() % 2)) {
                std::string l = "[";
                for (std::size_t i = 0; i < rows; ++i)
                    l.append(i ? "," : "").append(number_text(unit(rng), rng));
                expect.push_back("\"loss\": " + l + "]");
            } else if (std::string(reduction) != "none" || rows == 1) {
                expect.push_back("\"loss\": " + number_text(unit(rng), rng));
            }
        }
        if (!expect.empty()) {
            std::string e = "{";
            for (std::size_t k = 0; k < expect.size(); ++k)
                e.append(k ? ", " : "").append(expect[k]);
            members.push_back("\"expect\": " + e + "}");
        }
    }
    if (rng() % 4 == 0) members.push_back("\"tolerance\": {\"rtol\": 1e-6, \"atol\": 0}");
    std::shuffle(members.begin(), members.end(), rng);
    std::string text = rng() % 2 ? " {" : "{";
    for (std::size_t k = 0; k < members.size(); ++k)
        text.append(k ? ", " : "").append(members[k]);
    return text + "} ";
}

/// Edits that keep most of the line: bytes replaced, inserted or deleted, favouring JSON's
/// structure, keys, and numbers at the edges of what a double or an integer holds.
std::string mutate(std::string text, std::mt19937_64& rng) {
    static const std::vector<std::string> pieces = {"[",
                                                    "]",
                                                    "{",
                                                    "}",
                                                    ",",
                                                    ":",
                                                    "\"",
                                                    "0",
                                                    "-1",
                                                    "1e308",
                                                    "1e309",
                                                    "5e-324",
                                                    "1e-400",
                                                    "NaN",
                                                    "\"inf\"",
                                                    "\"x\"",
                                                    "[]",
                                                    "[[]]",
                                                    "null",
                                                    "true",
                                                    "1.5",
                                                    "-0",
                                                    "00",
                                                    "1.",
                                                    ".5",
                                                    "+1",
                                                    "\"none\"",
                                                    "\"sum\"",
                                                    "\\",
                                                    "\\u0041",
                                                    "\xC3\xA9",
                                                    "\t",
                                                    "9223372036854775808",
                                                    "18446744073709551616",
                                                    "\"name\":\"a\",",
                                                    "\"logits\":[1],",
                                                    "\"target\":0,",
                                                    "\"expect\":{},",
                                                    "\"weight\":[1],",
                                                    "\"probs\":[1],",
                                                    "2.0",
                                                    "1E2"};
    return testing::mutate_with(std::move(text), pieces, rng);
}

TEST(CaseFastParse, FixtureCasesAgreeWithTheFullReader) {
    std::size_t taken = 0;
    const auto lines = fixture_lines();
    for (const auto& line : lines)
        taken += check_line(line);
    EXPECT_GT(taken, 5u);  // the valid fixtures mostly take the fast path
    EXPECT_LT(taken, lines.size());
}

TEST(CaseFastParse, GeneratedValidCasesTakeTheFastPathAndAgree) {
    std::mt19937_64 rng(20260601);
    for (int k = 0; k < 3000; ++k) {
        const std::string text = random_case(rng);
        ASSERT_TRUE(full_parse(text).has_value()) << "generator wrote an invalid case: " << text;
        EXPECT_TRUE(check_line(text)) << "not taken: " << text;
    }
}

TEST(CaseFastParse, MutatedLinesAreTakenOnlyWhenValidAndAgree) {
    std::mt19937_64 rng(99);
    std::vector<std::string> seeds = fixture_lines();
    for (int k = 0; k < 200; ++k)
        seeds.push_back(random_case(rng));
    std::size_t taken = 0, total = 0;
    for (int round = 0; round < 25; ++round) {
        for (const auto& seed : seeds) {
            taken += check_line(mutate(seed, rng));
            ++total;
        }
    }
    EXPECT_GT(taken, 0u);
    EXPECT_LT(taken, total);
}

TEST(CaseFastParse, LiteralEdgeCasesMatchTheJsonParser) {
    // Integer -0 is +0 in a JSON document; -0.0 keeps its sign; integral floats are class
    // indices; numbers beyond double's range or integers beyond int64 leave the fast path.
    for (const char* text :
         {R"({"logits": [-0, -0.0, 1E2], "target": 2.0})",
          R"({"logits": [[1, 2]], "target": [1e0]})",
          R"({"logits": [1, 2], "target": 9223372036854775807})",
          R"({"logits": [1e309, 2], "target": 0})", R"({"logits": [1e-400, 2], "target": 0})",
          R"({"logits": [4.9e-324, 2], "target": 0})",
          R"({"logits": [123456789012345678901234567890, 2], "target": 0})",
          R"({"logits": [1, 2], "target": 0, "ignore_index": 18446744073709551615})",
          R"({"logits": ["Infinity", "-INF", "nan"], "target": [0, 0, 1]})",
          R"({"logits": [1, 2], "target": 0, "name": "caf\u00e9"})",
          R"({"logits": [1, 2], "target": 0, "expect": {}})"}) {
        check_line(text);
    }
    eval_case c;
    ASSERT_TRUE(detail::fast_parse_case(R"({"logits": [-0, -0.0], "target": 1})", c));
    EXPECT_FALSE(std::signbit(c.logits[0]));
    EXPECT_TRUE(std::signbit(c.logits[1]));
    EXPECT_FALSE(detail::fast_parse_case(R"({"logits": [1e309], "target": 0})", c));
    EXPECT_FALSE(detail::fast_parse_case(R"({"logits": [1], "target": 0, "target": 0})", c));
    EXPECT_FALSE(detail::fast_parse_case(R"({"logits": [NaN], "target": 0})", c));
}

/// A file holding one case object, read by case_reader (which reads such a file directly when
/// it can), gives what the JSON parser + parse_case give: the same case, or a problem.
TEST(CaseFastParse, SingleCaseFilesReadByTheReaderAgreeWithTheFullReader) {
    std::mt19937_64 rng(4242);
    const std::string path = ::testing::TempDir() + "xentcheck_single_case.json";
    std::size_t valid = 0;
    for (int k = 0; k < 400; ++k) {
        std::string text = random_case(rng);
        if (k % 4 == 1) text = mutate(text, rng);
        // Pretty-printed over several lines, as large case files usually are.
        if (k % 2 == 0 && full_parse(text)) text = parse_json_text(text).dump(2);
        std::ofstream(path, std::ios::binary) << text;
        std::optional<eval_case> full = full_parse(text);
        case_reader reader(path);
        const case_reader::status status = reader.next();
        if (!full) {
            EXPECT_EQ(status, case_reader::status::error) << text;
            continue;
        }
        ++valid;
        ASSERT_EQ(status, case_reader::status::ok) << text;
        full->index = 0;
        full->line = std::nullopt;
        EXPECT_TRUE(same_case(reader.current(), *full)) << text;
        EXPECT_EQ(reader.next(), case_reader::status::done);
    }
    EXPECT_GT(valid, 300u);
    std::remove(path.c_str());
}

}  // namespace
}  // namespace xentcheck::cli
