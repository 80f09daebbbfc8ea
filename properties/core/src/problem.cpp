/// The problem value type: validation, row extraction and exact printing.
#include "xentcheck/properties/problem.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>

#include "xentcheck/batch.h"

namespace xentcheck::properties {

std::string_view to_string(scalar_type t) noexcept {
    return t == scalar_type::float32 ? "float32" : "float64";
}

double unit_roundoff(scalar_type t) noexcept {
    return t == scalar_type::float32 ? xentcheck::unit_roundoff<float>()
                                     : xentcheck::unit_roundoff<double>();
}

std::string_view to_string(target_kind k) noexcept {
    return k == target_kind::index ? "index" : "probability";
}

bool problem::row_ignored(std::size_t i) const noexcept {
    return kind() == target_kind::index && std::get<0>(target)[i] == ignore_index;
}

xentcheck::target_view problem::target_view() const {
    if (kind() == target_kind::index) return xentcheck::target_view::indices(target_indices());
    return xentcheck::target_view::probabilities(target_probs());
}

xentcheck::cross_entropy_options problem::options() const {
    xentcheck::cross_entropy_options o;
    o.weight = weight;
    o.ignore_index = ignore_index;
    o.label_smoothing = label_smoothing;
    o.reduction = reduction;
    return o;
}

xentcheck::tolerance_model problem::tolerance() const {
    return xentcheck::tolerance_model(
        xentcheck::measure_problem(unit_roundoff(), logits, classes, target_view(), options()));
}

namespace {

bool float_exact(double x) {
    if (std::isnan(x) || std::isinf(x)) return true;
    if (std::abs(x) > 3.4028234663852886e38) return false;
    return static_cast<double>(static_cast<float>(x)) == x;
}

void require_float_exact(const char* field, const std::vector<double>& values) {
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (!float_exact(values[k])) {
            throw input_error(field, std::string(field) + "[" + std::to_string(k) +
                                         "] = " + show_number(values[k]) +
                                         " is not exactly representable in float32");
        }
    }
}

}  // namespace

void validate(const problem& p) {
    if (p.classes == 0) throw input_error("logits", "a problem needs at least one class");
    if (p.rows == 0) throw input_error("logits", "a problem needs at least one row");
    if (p.logits.size() != p.rows * p.classes) {
        throw input_error("logits", "logits has " + std::to_string(p.logits.size()) +
                                        " values, expected rows * classes = " +
                                        std::to_string(p.rows * p.classes));
    }
    for (std::size_t k = 0; k < p.logits.size(); ++k) {
        const double z = p.logits[k];
        if (std::isnan(z) || z == std::numeric_limits<double>::infinity()) {
            throw input_error("logits", "logits[" + std::to_string(k) + "] = " + show_number(z) +
                                            " (only finite values and -inf are problems)");
        }
    }
    for (const double w : p.weight) {
        if (!std::isfinite(w)) throw input_error("weight", "weights must be finite");
    }
    if (p.kind() == target_kind::probability) {
        for (const double y : p.target_probs()) {
            if (!std::isfinite(y)) throw input_error("target", "target values must be finite");
        }
    }
    // Shapes, index ranges, weight size and label_smoothing: lib validates them.
    (void)xentcheck::effective_target_mass(xentcheck::make_shape(p.logits.size(), p.classes),
                                           p.target_view(), p.options());
    if (p.dtype == scalar_type::float32) {
        require_float_exact("logits", p.logits);
        require_float_exact("weight", p.weight);
        if (p.kind() == target_kind::probability) require_float_exact("target", p.target_probs());
        if (!float_exact(p.label_smoothing)) {
            throw input_error("label_smoothing",
                              "label_smoothing is not exactly representable in float32");
        }
    }
}

problem row_problem(const problem& p, std::size_t i) {
    problem r = p;
    r.rows = 1;
    r.logits.assign(p.logits.begin() + static_cast<std::ptrdiff_t>(i * p.classes),
                    p.logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * p.classes));
    if (p.kind() == target_kind::index) {
        r.target = std::vector<std::int64_t>{p.target_indices()[i]};
    } else {
        const auto& y = p.target_probs();
        r.target =
            std::vector<double>(y.begin() + static_cast<std::ptrdiff_t>(i * p.classes),
                                y.begin() + static_cast<std::ptrdiff_t>((i + 1) * p.classes));
    }
    return r;
}

std::string show_number(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, res.ptr);
}

namespace {

void append_json_number(std::string& out, double x) {
    if (std::isfinite(x)) {
        out += show_number(x);
    } else {
        out += '"' + show_number(x) + '"';
    }
}

void append_array(std::string& out, const double* values, std::size_t count) {
    out += '[';
    for (std::size_t j = 0; j < count; ++j) {
        if (j > 0) out += ", ";
        append_json_number(out, values[j]);
    }
    out += ']';
}

void append_matrix(std::string& out, const std::vector<double>& values, std::size_t rows,
                   std::size_t columns) {
    out += '[';
    for (std::size_t i = 0; i < rows; ++i) {
        if (i > 0) out += ", ";
        append_array(out, values.data() + i * columns, columns);
    }
    out += ']';
}

}  // namespace

std::string show(const problem& p) {
    std::string out = "{\"dtype\": \"";
    out += to_string(p.dtype);
    out += "\", \"reduction\": \"";
    out += xentcheck::to_string(p.reduction);
    out += "\", \"logits\": ";
    append_matrix(out, p.logits, p.rows, p.classes);
    out += ", \"target\": ";
    if (p.kind() == target_kind::index) {
        out += '[';
        for (std::size_t i = 0; i < p.target_indices().size(); ++i) {
            if (i > 0) out += ", ";
            out += std::to_string(p.target_indices()[i]);
        }
        out += ']';
    } else {
        append_matrix(out, p.target_probs(), p.rows, p.classes);
    }
    if (!p.weight.empty()) {
        out += ", \"weight\": ";
        append_array(out, p.weight.data(), p.weight.size());
    }
    if (p.kind() == target_kind::index && p.ignore_index != -100) {
        out += ", \"ignore_index\": " + std::to_string(p.ignore_index);
    }
    if (p.label_smoothing != 0) {
        out += ", \"label_smoothing\": ";
        append_json_number(out, p.label_smoothing);
    }
    out += '}';
    return out;
}

namespace {

template <class T>
void append_bytes(std::string& out, const T& value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

template <class T>
void append_values(std::string& out, const std::vector<T>& values) {
    append_bytes(out, values.size());
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

std::string identity(const problem& p) {
    std::string key;
    const std::size_t targets = p.kind() == target_kind::index ? p.rows : p.logits.size();
    key.reserve(64 + 8 * (p.logits.size() + p.weight.size() + targets));
    key.push_back(static_cast<char>(p.dtype));
    key.push_back(static_cast<char>(p.kind()));
    key.push_back(static_cast<char>(p.reduction));
    append_bytes(key, p.rows);
    append_bytes(key, p.classes);
    append_bytes(key, p.ignore_index);
    append_bytes(key, p.label_smoothing);
    append_values(key, p.weight);
    append_values(key, p.logits);
    if (p.kind() == target_kind::index) {
        append_values(key, p.target_indices());
    } else {
        append_values(key, p.target_probs());
    }
    return key;
}

namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) noexcept {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

/// Mixes one 64-bit word into the hash (the multiply-xorshift step of splitmix64).
std::uint64_t mix(std::uint64_t h, std::uint64_t word) noexcept {
    h ^= word + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
}

template <class T>
std::uint64_t mix_sampled(std::uint64_t h, const std::vector<T>& values) noexcept {
    constexpr std::size_t samples = 64;
    h = mix(h, values.size());
    const std::size_t stride = values.size() <= samples ? 1 : values.size() / samples;
    for (std::size_t k = 0; k < values.size(); k += stride) {
        std::uint64_t word = 0;
        std::memcpy(&word, &values[k], sizeof(T));
        h = mix(h, word);
    }
    if (!values.empty()) h = mix(h, std::bit_cast<std::uint64_t>(values.back()));
    return h;
}

}  // namespace

bool same_problem(const problem& a, const problem& b) noexcept {
    if (a.dtype != b.dtype || a.kind() != b.kind() || a.reduction != b.reduction ||
        a.rows != b.rows || a.classes != b.classes || a.ignore_index != b.ignore_index ||
        std::bit_cast<std::uint64_t>(a.label_smoothing) !=
            std::bit_cast<std::uint64_t>(b.label_smoothing) ||
        !same_bits(a.weight, b.weight) || !same_bits(a.logits, b.logits)) {
        return false;
    }
    return a.kind() == target_kind::index ? same_bits(a.target_indices(), b.target_indices())
                                          : same_bits(a.target_probs(), b.target_probs());
}

std::size_t problem_hash(const problem& p) noexcept {
    std::uint64_t h =
        mix(0, static_cast<std::uint64_t>(p.dtype) | static_cast<std::uint64_t>(p.kind()) << 8 |
                   static_cast<std::uint64_t>(p.reduction) << 16);
    h = mix(h, p.rows);
    h = mix(h, p.classes);
    h = mix(h, static_cast<std::uint64_t>(p.ignore_index));
    h = mix(h, std::bit_cast<std::uint64_t>(p.label_smoothing));
    h = mix_sampled(h, p.weight);
    h = mix_sampled(h, p.logits);
    h = p.kind() == target_kind::index ? mix_sampled(h, p.target_indices())
                                       : mix_sampled(h, p.target_probs());
    return static_cast<std::size_t>(h);
}

void showValue(const problem& p, std::ostream& os) {
    os << show(p);
}

}  // namespace xentcheck::properties
