/// Robustness: mutated case files never crash the reader or the evaluator; every failure is a
/// typed input error.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

std::string read_text(const std::string& relative) {
    std::ifstream in(testing::source_path(relative));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Replaces, inserts or deletes a few bytes, favouring JSON's structural characters and
/// numbers that stress the reference (huge, tiny, negative, non-finite).
std::string mutate(std::string text, std::mt19937_64& rng) {
    static const std::vector<std::string> pieces = {
        "[",        "]",    "{",        "}",       ",",           ":",     "\"",
        "0",        "-1",   "1e308",    "-1e308",  "5e-324",      "NaN",   "\"inf\"",
        "\"-inf\"", "[]",   "[[]]",     "null",    "true",        "1.5",   "1e19",
        "-100",     "\"\"", "\"none\"", "\"sum\"", "\"float32\"", "[0,1]", "[[0.5,0.5]]"};
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !text.empty(); ++k) {
        const std::size_t at = rng() % text.size();
        const std::string& piece = pieces[rng() % pieces.size()];
        switch (rng() % 3) {
            case 0:
                text.replace(at, 1 + rng() % 4, piece);
                break;
            case 1:
                text.insert(at, piece);
                break;
            default:
                text.erase(at, 1 + rng() % 4);
        }
    }
    return text;
}

TEST(Robustness, MutatedCasesOnlyRaiseInputErrors) {
    std::vector<std::string> seeds;
    for (const char* file :
         {"fixtures/worked_example.json", "fixtures/cases/object.json", "fixtures/cases/array.json",
          "fixtures/cases/wrapped.json", "fixtures/bad/types.json", "fixtures/bad/probs.json"}) {
        seeds.push_back(read_text(file));
    }
    std::mt19937_64 rng(12345);
    evaluator ev;
    bare_token_rewrite scratch;
    std::size_t evaluated = 0, rejected = 0;
    for (int trial = 0; trial < 3000; ++trial) {
        const std::string text = mutate(seeds[rng() % seeds.size()], rng);
        nlohmann::json doc;
        try {
            parse_json_text(text, doc, scratch);
        } catch (const json_syntax_error&) {
            ++rejected;
            continue;
        }
        if (doc.is_object() && doc.contains("cases") && doc["cases"].is_array()) doc = doc["cases"];
        if (!doc.is_array()) doc = nlohmann::json::array({doc});
        for (const auto& value : doc) {
            eval_case c;
            try {
                parse_case(value, c);
            } catch (const field_error&) {
                ++rejected;
                continue;
            }
            // A case the reader accepts must evaluate without any exception.
            ASSERT_NO_THROW(ev.evaluate(c)) << text;
            ++evaluated;
        }
    }
    // Both paths were exercised.
    EXPECT_GT(evaluated, 500u);
    EXPECT_GT(rejected, 500u);
}

}  // namespace
}  // namespace xentcheck::cli
