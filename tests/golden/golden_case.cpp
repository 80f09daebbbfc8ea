/// tests/golden/golden_case.cpp: parsing of the golden file and comparison with the reference.
#include "golden_case.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace xentcheck::golden {

namespace detail {

using json = nlohmann::json;

/// A number of the case format: a JSON number or one of the non-finite strings.
double number(const json& j, const char* field) {
    if (j.is_number()) return j.get<double>();
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    throw std::runtime_error(std::string(field) + ": not a number: " + j.dump());
}

/// Appends a 1-D array of numbers, or the rows of a 2-D array, to `out`; returns the number
/// of rows (0 for a 1-D array) and sets `columns` to the row length.
std::size_t flatten(const json& j, const char* field, std::vector<double>& out,
                    std::size_t& columns) {
    if (!j.is_array() || j.empty()) throw std::runtime_error(std::string(field) + ": not an array");
    if (!j.front().is_array()) {
        for (const auto& v : j)
            out.push_back(number(v, field));
        columns = j.size();
        return 0;
    }
    columns = j.front().size();
    for (const auto& row : j) {
        if (!row.is_array() || row.size() != columns) {
            throw std::runtime_error(std::string(field) + ": ragged rows");
        }
        for (const auto& v : row)
            out.push_back(number(v, field));
    }
    return j.size();
}

/// A field holding an N x C (or 1-D, C) matrix of the case's shape.
std::vector<double> matrix(const json& j, const char* field, std::size_t size) {
    std::vector<double> out;
    std::size_t columns = 0;
    flatten(j, field, out, columns);
    if (out.size() != size) throw std::runtime_error(std::string(field) + ": wrong size");
    return out;
}

void parse_into(const json& j, golden_case& c) {
    if (!j.is_object()) throw std::runtime_error("case is not an object");
    c.name = j.value("name", std::string("(unnamed)"));
    std::size_t rows = flatten(j.at("logits"), "logits", c.logits, c.classes);
    const bool one_d = rows == 0;
    c.rows = one_d ? 1 : rows;
    const json& t = j.at("target");
    if (t.is_number_integer()) {
        if (!one_d) throw std::runtime_error("target: an integer needs 1-D logits");
        c.indices.push_back(t.get<std::int64_t>());
    } else if (t.is_array() && !one_d && !t.empty() && !t.front().is_array()) {
        for (const auto& v : t) {
            if (!v.is_number_integer()) throw std::runtime_error("target: not a class index");
            c.indices.push_back(v.get<std::int64_t>());
        }
        if (c.indices.size() != c.rows) throw std::runtime_error("target: wrong size");
    } else {
        c.index_target = false;
        c.target_probs = matrix(t, "target", c.rows * c.classes);
    }
    if (j.contains("weight")) c.weight = matrix(j["weight"], "weight", c.classes);
    c.ignore_index = j.value("ignore_index", std::int64_t{-100});
    c.label_smoothing = j.value("label_smoothing", 0.0);
    c.reduction = parse_reduction(j.value("reduction", std::string("mean")));
    if (j.value("dtype", std::string("float64")) != "float64") {
        throw std::runtime_error("dtype: golden values must be float64");
    }
    const json& e = j.at("expect");
    c.expect_probs = matrix(e.at("probs"), "expect.probs", c.rows * c.classes);
    c.expect_grad = matrix(e.at("grad"), "expect.grad", c.rows * c.classes);
    const std::size_t loss_size = c.reduction == reduction::none ? c.rows : 1;
    c.expect_loss = e.at("loss").is_array() ? matrix(e.at("loss"), "expect.loss", loss_size)
                                            : std::vector<double>{number(e.at("loss"), "loss")};
    if (c.expect_loss.size() != loss_size) throw std::runtime_error("expect.loss: wrong size");
}

}  // namespace detail

target_view golden_case::target() const {
    return index_target ? target_view::indices(indices) : target_view::probabilities(target_probs);
}

cross_entropy_options golden_case::options() const {
    cross_entropy_options o;
    o.weight = weight;
    o.ignore_index = ignore_index;
    o.label_smoothing = label_smoothing;
    o.reduction = reduction;
    return o;
}

std::vector<golden_case> load_golden_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open");
    const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("cases") || !doc["cases"].is_array()) {
        throw std::runtime_error(path + ": not an object {\"cases\": [...]}");
    }
    std::vector<golden_case> cases;
    for (const auto& j : doc["cases"]) {
        golden_case c;
        try {
            detail::parse_into(j, c);
        } catch (const std::exception& e) {
            c.error = e.what();
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

template <class T>
golden_comparison compare_with_reference(const golden_case& c) {
    const std::vector<T> logits(c.logits.begin(), c.logits.end());
    const auto target = c.target();
    const auto options = c.options();
    const auto ref = cross_entropy<T>(std::span<const T>(logits), c.classes, target, options);
    const std::vector<double> probs(ref.probs.begin(), ref.probs.end());
    const std::vector<double> loss(ref.loss.begin(), ref.loss.end());
    const std::vector<double> grad(ref.grad.begin(), ref.grad.end());
    // PyTorch's values are float64: the model's unit roundoff is that of double whatever T is.
    const tolerance_model model(
        measure_problem(unit_roundoff<double>(), c.logits, c.classes, target, options));
    auto magnitudes = grad_magnitudes(probs, c.classes, target, options);
    // Workaround (reported to lib's owner): under `mean` with divisor 0, grad_magnitudes gives
    // (1/0) * 0 = NaN even for entries whose two terms A p and |a| are both 0 (ignored rows).
    // The natural magnitude of such an entry is 0, so PyTorch's exact 0 must be accepted; the
    // NaN bound would reject everything. Entries with a NaN probability keep their NaN.
    for (std::size_t k = 0; k < magnitudes.size(); ++k) {
        if (std::isnan(magnitudes[k]) && !std::isnan(probs[k])) magnitudes[k] = 0;
    }
    return golden_comparison{
        compare_values("probs", probs, c.expect_probs, c.classes, model.probs()),
        compare_values("loss", loss, c.expect_loss, 1, model.loss()),
        compare_values("grad", grad, c.expect_grad, c.classes, model.grad(), magnitudes)};
}

template golden_comparison compare_with_reference<double>(const golden_case&);
template golden_comparison compare_with_reference<long double>(const golden_case&);

std::string describe(const check_result& r) {
    std::ostringstream out;
    out.precision(17);
    out << r.name << ": " << r.violations << " of " << r.checked << " values disagree (rtol "
        << r.used.rtol << ", atol " << r.used.atol << ")";
    for (const auto& f : r.findings) {
        out << "\n  " << f.where.to_string() << ": reference " << f.expected << ", PyTorch "
            << f.actual << ", |error| " << f.abs_error << ", allowed " << f.allowed;
    }
    return out.str();
}

}  // namespace xentcheck::golden
