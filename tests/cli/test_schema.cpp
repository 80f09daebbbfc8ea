/// Tests of fixtures/case.schema.json: it names exactly the fields the reader accepts, every
/// good fixture case is valid, and the bad inputs it can express are invalid. The schema is
/// checked with a small validator of the draft 2020-12 keywords it uses.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "cli_test_support.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

using json = nlohmann::json;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The keywords the case schema uses; any other keyword makes the test fail, so the validator
/// cannot silently ignore part of the schema.
class mini_validator {
  public:
    explicit mini_validator(json schema) : root_(std::move(schema)) {}
    bool valid(const json& v) const { return check(root_, v); }

  private:
    static bool has_type(const json& v, const std::string& t) {
        if (t == "object") return v.is_object();
        if (t == "array") return v.is_array();
        if (t == "string") return v.is_string();
        if (t == "boolean") return v.is_boolean();
        if (t == "null") return v.is_null();
        if (t == "number") return v.is_number();
        if (t == "integer") {
            return v.is_number_integer() ||
                   (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>());
        }
        ADD_FAILURE() << "unknown type " << t;
        return false;
    }

    bool check(const json& s, const json& v) const {
        static const std::set<std::string> annotations = {"$schema",  "title",   "description",
                                                          "$comment", "default", "$defs"};
        for (const auto& [key, arg] : s.items()) {
            if (annotations.count(key)) continue;
            if (!keyword(key, arg, s, v)) return false;
        }
        return true;
    }

    bool keyword(const std::string& key, const json& arg, const json& s, const json& v) const {
        if (key == "$ref") {
            const std::string prefix = "#/$defs/";
            EXPECT_EQ(arg.get<std::string>().rfind(prefix, 0), 0u);
            return check(root_.at("$defs").at(arg.get<std::string>().substr(prefix.size())), v);
        }
        if (key == "type") return has_type(v, arg.get<std::string>());
        if (key == "enum") {
            for (const auto& e : arg)
                if (e == v) return true;
            return false;
        }
        if (key == "anyOf" || key == "oneOf") {
            int matches = 0;
            for (const auto& sub : arg)
                matches += check(sub, v) ? 1 : 0;
            return key == "anyOf" ? matches > 0 : matches == 1;
        }
        if (key == "pattern") {
            return !v.is_string() ||
                   std::regex_search(v.get<std::string>(), std::regex(arg.get<std::string>()));
        }
        if (key == "minimum") return !v.is_number() || v.get<double>() >= arg.get<double>();
        if (key == "maximum") return !v.is_number() || v.get<double>() <= arg.get<double>();
        if (key == "minItems") return !v.is_array() || v.size() >= arg.get<std::size_t>();
        if (key == "items") {
            if (!v.is_array()) return true;
            for (const auto& item : v)
                if (!check(arg, item)) return false;
            return true;
        }
        if (key == "minProperties") return !v.is_object() || v.size() >= arg.get<std::size_t>();
        if (key == "required") {
            if (!v.is_object()) return true;
            for (const auto& name : arg)
                if (!v.contains(name.get<std::string>())) return false;
            return true;
        }
        if (key == "properties") {
            if (!v.is_object()) return true;
            for (const auto& [name, sub] : arg.items())
                if (v.contains(name) && !check(sub, v.at(name))) return false;
            return true;
        }
        if (key == "additionalProperties") {
            EXPECT_FALSE(arg.get<bool>()) << "only additionalProperties: false is used";
            if (!v.is_object()) return true;
            for (const auto& [name, _] : v.items())
                if (!s.at("properties").contains(name)) return false;
            return true;
        }
        ADD_FAILURE() << "the validator does not know the keyword " << key;
        return false;
    }

    json root_;
};

json schema() {
    return json::parse(read_text(testing::source_path("fixtures/case.schema.json")));
}

std::set<std::string> keys_of(const json& object) {
    std::set<std::string> out;
    for (const auto& [k, _] : object.items())
        out.insert(k);
    return out;
}

template <class Span>
std::set<std::string> set_of(Span names) {
    return std::set<std::string>(names.begin(), names.end());
}

TEST(CaseSchema, NamesExactlyTheFieldsTheReaderAccepts) {
    const json s = schema();
    EXPECT_EQ(s.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
    EXPECT_EQ(keys_of(s.at("properties")), set_of(case_fields()));
    EXPECT_EQ(keys_of(s.at("properties").at("expect").at("properties")), set_of(expect_fields()));
    EXPECT_EQ(keys_of(s.at("properties").at("tolerance").at("properties")),
              set_of(tolerance_fields()));
    EXPECT_EQ(s.at("properties").at("reduction").at("enum"), json({"none", "mean", "sum"}));
    EXPECT_EQ(s.at("properties").at("dtype").at("enum"), json({"float64", "float32"}));
}

TEST(CaseSchema, EveryGoodFixtureCaseIsValid) {
    const mini_validator v(schema());
    std::size_t count = 0;
    for (const char* file :
         {"fixtures/worked_example.json", "fixtures/cases/object.json", "fixtures/cases/array.json",
          "fixtures/cases/wrapped.json", "fixtures/cases/failing/grad_wrt_probs.json"}) {
        json doc = parse_json_text(read_text(testing::source_path(file)));
        if (doc.is_object() && doc.contains("cases")) doc = doc["cases"];
        if (!doc.is_array()) doc = json::array({doc});
        for (const auto& c : doc) {
            EXPECT_TRUE(v.valid(c)) << file << ": " << c.dump();
            ++count;
        }
    }
    std::istringstream lines(read_text(testing::source_path("fixtures/cases/lines.jsonl")));
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        EXPECT_TRUE(v.valid(parse_json_text(line))) << line;  // bare NaN read as "NaN"
        ++count;
    }
    EXPECT_EQ(count, 15u);
}

TEST(CaseSchema, RejectsTheBadInputsItCanExpress) {
    const mini_validator v(schema());
    const char* bad[] = {
        R"({"logits": [1, 2], "target": 0, "lable_smoothing": 0.1})",
        R"({"logits": [1, 2]})",
        R"({"target": 0})",
        R"({"logits": [1, 2], "probs": [0.5, 0.5], "target": 0})",
        R"({"logits": [], "target": 0})",
        R"({"logits": [[1, 2], []], "target": [0, 0]})",
        R"({"logits": ["x", 2], "target": 0})",
        R"({"logits": [1, 2], "target": 0.5})",
        R"({"logits": [1, 2], "target": "nan"})",
        R"({"probs": [1.5, -0.5], "target": 0})",
        R"({"probs": ["nan", 1], "target": 0})",
        R"({"logits": [1, 2], "target": 0, "weight": [1, "nan"]})",
        R"({"logits": [1, 2], "target": 0, "label_smoothing": 1.5})",
        R"({"logits": [1, 2], "target": 0, "label_smoothing": "nan"})",
        R"({"logits": [1, 2], "target": 0, "ignore_index": 0.5})",
        R"({"logits": [1, 2], "target": 0, "reduction": "avg"})",
        R"({"logits": [1, 2], "target": 0, "dtype": "float16"})",
        R"({"logits": [1, 2], "target": 0, "expect": {"gard": [0, 0]}})",
        R"({"logits": [1, 2], "target": 0, "expect": {"loss": "one"}})",
        R"({"logits": [1, 2], "target": 0, "tolerance": {}})",
        R"({"logits": [1, 2], "target": 0, "tolerance": {"rtol": -1}})",
        R"({"logits": [1, 2], "target": 0, "tolerance": {"rtl": 1}})",
        R"({"name": 5, "logits": [1, 2], "target": 0})",
        R"([1, 2])",
    };
    for (const char* text : bad) {
        EXPECT_FALSE(v.valid(parse_json_text(text))) << text;
        // And the reader rejects each of them too.
        eval_case c;
        EXPECT_THROW(parse_case(parse_json_text(text), c), field_error) << text;
    }
    EXPECT_TRUE(v.valid(parse_json_text(R"({"logits": [1, "-Infinity"], "target": 1.0})")));
}

}  // namespace
}  // namespace xentcheck::cli
