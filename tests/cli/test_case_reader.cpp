/// Unit tests of the case reader: every field read right, every kind of bad input rejected with
/// the right field, every file form, and bad cases not hiding the good ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

eval_case parse(const std::string& text) {
    eval_case c;
    parse_case(parse_json_text(text), c);
    return c;
}

/// The field named by the error the case raises ("<no error>" if none).
std::pair<std::string, std::string> error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const field_error& e) {
        return {e.field(), e.what()};
    }
    return {"<no error>", ""};
}

TEST(CaseParse, ReadsEveryField) {
    const eval_case c = parse(R"({"name": "n", "note": "x", "logits": [[1, 2, 3], [4, 5, "-inf"]],
        "target": [2, -1], "weight": [1, 2, 0.5], "ignore_index": -1, "label_smoothing": 0.25,
        "reduction": "sum", "dtype": "float32",
        "expect": {"probs": [[0.1, 0.2, 0.7], [0.3, 0.7, 0]], "loss": 2.5,
                   "grad": [[0, 0, 0], ["nan", 1, -1]]},
        "tolerance": {"rtol": 1e-3}})");
    EXPECT_EQ(c.name, "n");
    EXPECT_EQ(c.note, "x");
    EXPECT_TRUE(c.batched);
    EXPECT_FALSE(c.from_probs);
    EXPECT_EQ(c.rows, 2u);
    EXPECT_EQ(c.classes, 3u);
    EXPECT_EQ(c.logits, (std::vector<double>{1, 2, 3, 4, 5, -INFINITY}));
    EXPECT_EQ(c.target_kind, target_view::kind::index);
    EXPECT_EQ(c.target_indices, (std::vector<std::int64_t>{2, -1}));
    EXPECT_EQ(c.weight, (std::vector<double>{1, 2, 0.5}));
    EXPECT_EQ(c.ignore_index, -1);
    EXPECT_EQ(c.label_smoothing, 0.25);
    EXPECT_EQ(c.reduction, reduction::sum);
    EXPECT_EQ(c.dtype, dtype::float32);
    EXPECT_TRUE(c.expect.has_probs && c.expect.has_loss && c.expect.has_grad);
    EXPECT_EQ(c.expect.loss, std::vector<double>{2.5});
    EXPECT_TRUE(std::isnan(c.expect.grad[3]));
    ASSERT_TRUE(c.tolerance);
    EXPECT_EQ(c.tolerance->rtol, 1e-3);
    EXPECT_EQ(c.tolerance->atol, 0);
}

TEST(CaseParse, TargetForms) {
    const eval_case scalar = parse(R"({"logits": [1, 2, 3], "target": 2})");
    EXPECT_TRUE(scalar.target_is_scalar);
    EXPECT_EQ(scalar.target_indices, std::vector<std::int64_t>{2});
    const eval_case integral_float = parse(R"({"logits": [1, 2, 3], "target": 2.0})");
    EXPECT_EQ(integral_float.target_indices, std::vector<std::int64_t>{2});
    const eval_case row = parse(R"({"logits": [1, 2, 3], "target": [0, 1, 0]})");
    EXPECT_EQ(row.target_kind, target_view::kind::probability);
    EXPECT_EQ(row.target_probs, (std::vector<double>{0, 1, 0}));
    const eval_case rows =
        parse(R"({"logits": [[1, 2], [3, 4]], "target": [[0.5, 0.5], [2, -1]]})");
    EXPECT_EQ(rows.target_kind, target_view::kind::probability);
    EXPECT_EQ(rows.target_probs, (std::vector<double>{0.5, 0.5, 2, -1}));
    const eval_case indices = parse(R"({"logits": [[1, 2], [3, 4]], "target": [1, 0]})");
    EXPECT_EQ(indices.target_kind, target_view::kind::index);
    const eval_case one_row_2d = parse(R"({"logits": [[1, 2]], "target": 1})");
    EXPECT_EQ(one_row_2d.rows, 1u);
}

TEST(CaseParse, ProbsInputBecomesLogLogits) {
    const eval_case c = parse(R"({"probs": [0.25, 0.75, 0], "target": 1})");
    EXPECT_TRUE(c.from_probs);
    EXPECT_EQ(c.given, (std::vector<double>{0.25, 0.75, 0}));
    EXPECT_EQ(c.logits[0], std::log(0.25));
    EXPECT_EQ(c.logits[1], std::log(0.75));
    EXPECT_EQ(c.logits[2], -INFINITY);
}

TEST(CaseParse, ProbsRowSumToleranceDependsOnDtype) {
    // Off by 1e-9: far outside float64's bound (~1e-14), inside float32's (~5e-6).
    const std::string row = R"("probs": [0.5, 0.500000001], "target": 0)";
    EXPECT_EQ(error_of("{" + row + "}").first, "probs");
    EXPECT_EQ(error_of("{" + row + R"(, "dtype": "float32"})").first, "<no error>");
}

TEST(CaseParse, ExpectLossShapes) {
    const eval_case none = parse(R"({"logits": [[1, 2], [3, 4]], "target": [0, 1],
        "reduction": "none", "expect": {"loss": [1, 2]}})");
    EXPECT_TRUE(none.expect.loss_is_array);
    EXPECT_EQ(none.expect.loss, (std::vector<double>{1, 2}));
    const eval_case one = parse(R"({"logits": [1, 2], "target": 0, "reduction": "none",
        "expect": {"loss": 1.5}})");
    EXPECT_FALSE(one.expect.loss_is_array);
    EXPECT_EQ(one.expect.loss, std::vector<double>{1.5});
}

struct bad_case {
    const char* what;
    const char* json;
    const char* field;
    const char* message;  // a part of the message
};

// One entry per kind of bad input of docs/case-format.md.
const bad_case bad_cases[] = {
    {"not an object", "[1, 2]", "", "must be a JSON object"},
    {"ragged", R"({"logits": [[1, 2, 3], [4, 5]], "target": [0, 1]})", "logits",
     "row 1 has 2 values, expected 3"},
    {"empty logits", R"({"logits": [], "target": 0})", "logits", "empty"},
    {"empty row", R"({"logits": [[1], []], "target": [0, 0]})", "logits", "row 1 is empty"},
    {"mixed depth", R"({"logits": [[1, 2], 3], "target": [0, 0]})", "logits", "row 1"},
    {"3-D logits", R"({"logits": [[[1]]], "target": 0})", "logits", "at most 2-D"},
    {"logits string", R"({"logits": "1 2", "target": 0})", "logits", "expected an array"},
    {"logit boolean", R"({"logits": [1, false], "target": 0})", "logits", "class 1"},
    {"logit non-numeric string", R"({"logits": [1, "2"], "target": 0})", "logits",
     "expected a number"},
    {"no logits nor probs", R"({"target": 0})", "logits", "missing"},
    {"both logits and probs", R"({"logits": [0, 0], "probs": [0.5, 0.5], "target": 0})", "probs",
     "both"},
    {"no target", R"({"logits": [1, 2]})", "target", "missing"},
    {"target out of range", R"({"logits": [[1, 2], [1, 2]], "target": [0, 2]})", "target",
     "row 1: class index 2 is out of range [0, 2)"},
    {"negative target", R"({"logits": [1, 2], "target": -5})", "target", "out of range"},
    {"fractional target", R"({"logits": [1, 2], "target": 0.5})", "target", "integer"},
    {"huge target", R"({"logits": [1, 2], "target": 1e30})", "target", "integer"},
    {"NaN target", R"({"logits": [1, 2], "target": NaN})", "target", "NaN"},
    {"target rows", R"({"logits": [[1, 2], [1, 2]], "target": [0]})", "target", "expected 2"},
    {"target probability row length", R"({"logits": [1, 2, 3], "target": [0.5, 0.5]})", "target",
     "expected 3"},
    {"target probability rows", R"({"logits": [[1, 2]], "target": [[0.5, 0.5], [0.5, 0.5]]})",
     "target", "expected 1"},
    {"inf probability target", R"({"logits": [1, 2], "target": [1, "inf"]})", "target", "inf"},
    {"single index for two rows", R"({"logits": [[1, 2], [1, 2]], "target": 0})", "target",
     "one row"},
    {"probs not normalised", R"({"probs": [0.3, 0.3], "target": 0})", "probs", "sums to 0.6"},
    {"negative probs", R"({"probs": [1.2, -0.2], "target": 0})", "probs", "negative"},
    {"NaN probs", R"({"probs": ["nan", 1], "target": 0})", "probs", "NaN"},
    {"inf probs", R"({"probs": [Infinity, 0], "target": 0})", "probs", "inf"},
    {"NaN weight", R"({"logits": [1, 2], "target": 0, "weight": [1, "NaN"]})", "weight", "NaN"},
    {"weight length", R"({"logits": [1, 2], "target": 0, "weight": [1]})", "weight", "expected 2"},
    {"weight 2-D", R"({"logits": [1, 2], "target": 0, "weight": [[1, 2]]})", "weight", "flat"},
    {"NaN label_smoothing", R"({"logits": [1, 2], "target": 0, "label_smoothing": NaN})",
     "label_smoothing", "NaN"},
    {"label_smoothing range", R"({"logits": [1, 2], "target": 0, "label_smoothing": -0.1})",
     "label_smoothing", "outside [0, 1]"},
    {"label_smoothing string", R"({"logits": [1, 2], "target": 0, "label_smoothing": "0.1"})",
     "label_smoothing", "expected a number"},
    {"NaN ignore_index", R"({"logits": [1, 2], "target": 0, "ignore_index": "nan"})",
     "ignore_index", "NaN"},
    {"fractional ignore_index", R"({"logits": [1, 2], "target": 0, "ignore_index": -0.5})",
     "ignore_index", "integer"},
    {"bad reduction", R"({"logits": [1, 2], "target": 0, "reduction": "max"})", "reduction",
     "\"max\" is not one of"},
    {"reduction type", R"({"logits": [1, 2], "target": 0, "reduction": null})", "reduction",
     "expected a string, got null"},
    {"bad dtype", R"({"logits": [1, 2], "target": 0, "dtype": "bfloat16"})", "dtype", "not one of"},
    {"name type", R"({"name": ["a"], "logits": [1, 2], "target": 0})", "name", "expected a string"},
    {"note type", R"({"note": 1, "logits": [1, 2], "target": 0})", "note", "expected a string"},
    {"unknown field", R"({"logits": [1, 2], "target": 0, "lable_smoothing": 0.1})",
     "lable_smoothing", "did you mean \"label_smoothing\""},
    {"unknown far field", R"({"logits": [1, 2], "target": 0, "zzzzzzzz": 1})", "zzzzzzzz",
     "unknown field"},
    {"repeated field", R"({"logits": [1, 2], "target": 0, "target": 1})", "target",
     "more than once"},
    {"expect type", R"({"logits": [1, 2], "target": 0, "expect": 1})", "expect",
     "expected an object"},
    {"unknown expect key", R"({"logits": [1, 2], "target": 0, "expect": {"gradient": [0, 0]}})",
     "expect.gradient", "unknown field"},
    {"repeated expect key", R"({"logits": [1, 2], "target": 0, "expect": {"loss": 1, "loss": 2}})",
     "expect.loss", "more than once"},
    {"expect.probs 1-D for 2-D",
     R"({"logits": [[1, 2]], "target": [0], "expect": {"probs": [0.5, 0.5]}})", "expect.probs",
     "1-D"},
    {"expect.grad 2-D for 1-D", R"({"logits": [1, 2], "target": 0, "expect": {"grad": [[0, 0]]}})",
     "expect.grad", "2-D"},
    {"expect.grad classes", R"({"logits": [1, 2], "target": 0, "expect": {"grad": [0, 0, 0]}})",
     "expect.grad", "expected 2"},
    {"expect.grad ragged",
     R"({"logits": [[1, 2], [1, 2]], "target": [0, 1], "expect": {"grad": [[0, 0], [0]]}})",
     "expect.grad", "row 1 has 1 value, expected 2"},
    {"expect.probs rows",
     R"({"logits": [[1, 2], [1, 2]], "target": [0, 1], "expect": {"probs": [[0.5, 0.5]]}})",
     "expect.probs", "has 1 row, expected 2"},
    {"expect.loss array for mean", R"({"logits": [1, 2], "target": 0, "expect": {"loss": [1]}})",
     "expect.loss", "one number"},
    {"expect.loss count for none",
     R"({"logits": [[1, 2], [1, 2]], "target": [0, 1], "reduction": "none", "expect": {"loss": [1]}})",
     "expect.loss", "expected 2 numbers"},
    {"expect.loss number for none",
     R"({"logits": [[1, 2], [1, 2]], "target": [0, 1], "reduction": "none", "expect": {"loss": 1}})",
     "expect.loss", "an array of 2"},
    {"expect.loss string", R"({"logits": [1, 2], "target": 0, "expect": {"loss": "one"}})",
     "expect.loss", "expected a number"},
    {"tolerance type", R"({"logits": [1, 2], "target": 0, "tolerance": 0.1})", "tolerance",
     "expected an object"},
    {"empty tolerance", R"({"logits": [1, 2], "target": 0, "tolerance": {}})", "tolerance",
     "empty"},
    {"unknown tolerance key", R"({"logits": [1, 2], "target": 0, "tolerance": {"rtl": 1}})",
     "tolerance.rtl", "did you mean \"rtol\""},
    {"NaN tolerance", R"({"logits": [1, 2], "target": 0, "tolerance": {"atol": "nan"}})",
     "tolerance.atol", "NaN"},
    {"negative tolerance", R"({"logits": [1, 2], "target": 0, "tolerance": {"rtol": -1}})",
     "tolerance.rtol", "negative"},
};

TEST(CaseParse, EveryBadInputNamesItsField) {
    for (const bad_case& b : bad_cases) {
        const auto [field, message] = error_of(b.json);
        EXPECT_EQ(field, b.field) << b.what << ": " << message;
        EXPECT_NE(message.find(b.message), std::string::npos)
            << b.what << ": message \"" << message << "\" lacks \"" << b.message << "\"";
    }
}

TEST(CaseParse, NameIsKnownWhenALaterFieldFails) {
    eval_case c;
    c.index = 4;
    EXPECT_THROW(parse_case(parse_json_text(R"({"zzz": 1, "name": "mine", "logits": [1]})"), c),
                 field_error);
    EXPECT_EQ(c.name, "mine");
    EXPECT_EQ(c.index, 4u);
}

/// A file in the test's temporary directory, removed afterwards.
class temp_case_file {
  public:
    temp_case_file(const std::string& name, const std::string& text)
        : path_(::testing::TempDir() + name) {
        std::ofstream(path_) << text;
    }
    ~temp_case_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

struct read_outcome {
    std::vector<std::string> names;  // a case's name, or "error:<field>" for a problem
    std::vector<input_problem> problems;
};

read_outcome read_all(const std::string& path) {
    read_outcome out;
    case_reader reader(path);
    for (;;) {
        const auto s = reader.next();
        if (s == case_reader::status::done) break;
        if (s == case_reader::status::ok) {
            out.names.push_back(reader.current().display_name());
        } else {
            out.names.push_back("error:" + reader.problem().field);
            out.problems.push_back(reader.problem());
        }
    }
    return out;
}

TEST(CaseReader, ReadsEveryFileForm) {
    const std::string a = R"({"name": "a", "logits": [1, 2], "target": 0})";
    const std::string b = R"({"name": "b", "logits": [1, 2], "target": 1})";
    const temp_case_file object("form_object.json", a);
    const temp_case_file array("form_array.json", "[" + a + ", " + b + "]");
    const temp_case_file wrapped("form_wrapped.json", R"({"cases": [)" + a + "," + b + "]}");
    const temp_case_file lines("form_lines.JSONL", a + "\n\n   \n" + b + "\r\n");
    EXPECT_EQ(read_all(object.path()).names, std::vector<std::string>{"a"});
    EXPECT_EQ(read_all(array.path()).names, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(read_all(wrapped.path()).names, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(read_all(lines.path()).names, (std::vector<std::string>{"a", "b"}));
}

TEST(CaseReader, JsonLinesNumbersCasesAndLinesAndGoesOnAfterBadLines) {
    const temp_case_file lines("bad_lines.jsonl",
                               "{\"name\": \"a\", \"logits\": [1, 2], \"target\": 0}\n"
                               "\n"
                               "{\"name\": \"broken\", \"logits\": [1, 2\n"
                               "{\"name\": \"c\", \"logits\": [1, 2], \"target\": 5}\n"
                               "[1]\n"
                               "{\"logits\": [NaN, 2], \"target\": 1}\n");
    const read_outcome r = read_all(lines.path());
    EXPECT_EQ(r.names, (std::vector<std::string>{"a", "error:", "error:target", "error:", "#4"}));
    ASSERT_EQ(r.problems.size(), 3u);
    EXPECT_EQ(r.problems[0].line, 3u);
    EXPECT_EQ(r.problems[0].case_index, 1u);
    EXPECT_EQ(r.problems[0].column, 35u);  // the end of the line
    EXPECT_NE(r.problems[0].message.find("invalid JSON"), std::string::npos);
    EXPECT_EQ(r.problems[1].line, 4u);
    EXPECT_EQ(r.problems[1].case_index, 2u);
    EXPECT_EQ(r.problems[1].case_name, "c");
    EXPECT_EQ(r.problems[2].to_string().rfind(lines.path() + ": line 5: case 3: ", 0), 0u)
        << r.problems[2].to_string();
}

TEST(CaseReader, BadCasesDoNotHideTheOthersInAnArray) {
    const temp_case_file array("mixed.json", R"([
        {"name": "a", "logits": [1, 2], "target": 0},
        {"name": "ragged", "logits": [[1, 2], [3]], "target": [0, 0]},
        {"name": "c", "logits": [1, 2], "target": 1}])");
    const read_outcome r = read_all(array.path());
    EXPECT_EQ(r.names, (std::vector<std::string>{"a", "error:logits", "c"}));
    EXPECT_EQ(r.problems[0].to_string(),
              array.path() + ": case 1 (\"ragged\"): logits: row 1 has 1 value, expected 2");
}

TEST(CaseReader, FileLevelProblems) {
    const temp_case_file malformed("malformed.json", "[\n{\"logits\": [1, 2],, }]");
    const temp_case_file empty("empty.json", "");
    const temp_case_file scalar("scalar.json", "42");
    const temp_case_file extra("extra.json", R"({"cases": [], "version": 2})");
    const temp_case_file not_array("not_array.json", R"({"cases": {"logits": [1]}})");
    const temp_case_file lines_as_json("lines.json",
                                       "{\"logits\": [1], \"target\": 0}\n"
                                       "{\"logits\": [1], \"target\": 0}\n");
    const auto single_problem = [](const std::string& path) {
        const read_outcome r = read_all(path);
        EXPECT_EQ(r.problems.size(), 1u) << path;
        EXPECT_EQ(r.names.size(), 1u) << path;
        return r.problems.empty() ? input_problem{} : r.problems.front();
    };
    const input_problem m = single_problem(malformed.path());
    EXPECT_EQ(m.line, 2u);
    EXPECT_EQ(m.column, 19u);
    EXPECT_FALSE(m.case_index);
    EXPECT_EQ(m.to_string().rfind(malformed.path() + ": line 2, column 19: invalid JSON", 0), 0u)
        << m.to_string();
    EXPECT_EQ(single_problem(empty.path()).line, 1u);
    EXPECT_NE(single_problem(scalar.path()).message.find("expected a case object"),
              std::string::npos);
    EXPECT_EQ(single_problem(extra.path()).field, "version");
    EXPECT_EQ(single_problem(not_array.path()).field, "cases");
    EXPECT_NE(single_problem(lines_as_json.path()).message.find("JSON Lines"), std::string::npos);
    const input_problem missing = single_problem(::testing::TempDir() + "does_not_exist.json");
    EXPECT_NE(missing.message.find("cannot open"), std::string::npos);
    const input_problem directory = single_problem(::testing::TempDir());
    EXPECT_NE(directory.message.find("cannot read"), std::string::npos) << directory.message;
}

TEST(CaseReader, AnEmptyArrayHasNoCases) {
    const temp_case_file empty_array("empty_array.json", "[]");
    const temp_case_file empty_lines("empty_lines.jsonl", "\n\n");
    EXPECT_TRUE(read_all(empty_array.path()).names.empty());
    EXPECT_TRUE(read_all(empty_lines.path()).names.empty());
}

}  // namespace
}  // namespace xentcheck::cli
