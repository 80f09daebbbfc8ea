/// The protocol codec: request and response lines, both directions, without iostreams.
#include "xentcheck/check/protocol.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "json_cursor.h"
#include "line_writer.h"
#include "message_members.h"
#include "response_reader.h"
#include "xentcheck/check/json_numbers.h"

namespace xentcheck::check {

using detail::decode_error;
using detail::json_cursor;
using detail::line_frame_chars;
using detail::line_writer;
using detail::numeric_value;
using detail::response_reader;

std::string_view to_string(dtype type) noexcept {
    return type == dtype::float32 ? "float32" : "float64";
}

std::optional<dtype> parse_dtype(std::string_view name) noexcept {
    if (name == "float32") return dtype::float32;
    if (name == "float64") return dtype::float64;
    return std::nullopt;
}

request_ref::request_ref(const request& r) noexcept
    : dtype(r.dtype),
      rows(r.rows),
      classes(r.classes),
      logits(r.logits),
      target_form(r.target_form),
      target_indices(r.target_indices),
      target_probs(r.target_probs),
      weight(r.weight),
      ignore_index(r.ignore_index),
      label_smoothing(r.label_smoothing),
      reduction(r.reduction) {}

target_view request_ref::target() const {
    return target_form == target_view::kind::index ? target_view::indices(target_indices)
                                                   : target_view::probabilities(target_probs);
}

cross_entropy_options request_ref::options() const {
    cross_entropy_options o;
    o.weight = weight;
    if (ignore_index) o.ignore_index = *ignore_index;
    if (label_smoothing) o.label_smoothing = *label_smoothing;
    o.reduction = reduction;
    return o;
}

std::size_t request::loss_count() const noexcept {
    return response_shape::of(*this).loss_count();
}

target_view request::target() const {
    return request_ref(*this).target();
}

cross_entropy_options request::options() const {
    return request_ref(*this).options();
}

namespace {

/// Throws unless `ok`. The message is a literal: a std::string parameter would be built (and,
/// past 15 characters, allocated) on every call, passing or not.
void require(bool ok, const char* message) {
    if (!ok) throw std::invalid_argument(std::string("request: ") + message);
}

void require_float32(std::span<const double> values, const char* field) {
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (!is_float32_exact(values[k])) {  // the message only when it is thrown
            throw std::invalid_argument(
                std::string("request: ") + field + "[" + std::to_string(k) +
                "] is not exactly representable in float32 (round inputs of float32 requests "
                "before sending)");
        }
    }
}

std::string count_text(std::size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// Throws wrong_shape unless `v` is `rows` rows of `cols` numbers.
void require_matrix(const numeric_value& v, std::string_view field, std::size_t rows,
                    std::size_t cols) {
    const std::string f(field);
    if (v.rank != 2) {
        throw decode_error(fault_kind::wrong_shape,
                           f + ": expected " + count_text(rows, "row") + " of " +
                               count_text(cols, "number") + ", found " +
                               (v.rank == 0 ? std::string("a number")
                                            : "a flat array of " + count_text(v.rows, "value")));
    }
    if (v.ragged_row != SIZE_MAX) {
        throw decode_error(fault_kind::wrong_shape, f + ": ragged rows: row 0 has " +
                                                        count_text(v.cols, "value") + ", row " +
                                                        std::to_string(v.ragged_row) + " has " +
                                                        std::to_string(v.ragged_length));
    }
    if (v.rows != rows || v.cols != cols) {
        throw decode_error(fault_kind::wrong_shape, f + ": expected " + std::to_string(rows) +
                                                        " x " + std::to_string(cols) + ", found " +
                                                        std::to_string(v.rows) + " x " +
                                                        std::to_string(v.cols));
    }
}

/// The usual successful response, read directly: exactly the members id (the expected one),
/// probs and grad (rows x classes), loss (a number, or `rows` numbers for reduction none), in
/// any order. False for anything else, including every fault; decode_response then reads the
/// line with json_cursor, which gives the same values for what this accepts.
bool decode_common_response(std::string_view line, std::int64_t expected_id,
                            const response_shape& shape, response_values& v) {
    response_reader in(line);
    if (!in.consume('{')) return false;
    bool id = false, probs = false, loss = false, grad = false;
    const std::size_t n = shape.rows * shape.classes;
    v.probs.clear();
    v.grad.clear();
    v.loss.clear();
    v.probs.reserve(n);
    v.grad.reserve(n);
    do {
        std::string_view key;
        if (!in.key(key)) return false;
        if (key == "id" && !id) {
            std::int64_t value = 0;
            if (!in.integer(value) || value != expected_id) return false;
            id = true;
        } else if (key == "probs" && !probs) {
            if (!in.matrix(v.probs, shape.rows, shape.classes)) return false;
            probs = true;
        } else if (key == "grad" && !grad) {
            if (!in.matrix(v.grad, shape.rows, shape.classes)) return false;
            grad = true;
        } else if (key == "loss" && !loss) {
            if (shape.reduction == reduction::none) {
                if (!in.row(v.loss, shape.rows)) return false;
            } else {
                double value = 0;
                if (!in.number(value)) return false;
                v.loss.push_back(value);
            }
            loss = true;
        } else {
            return false;
        }
    } while (in.consume(','));
    return in.consume('}') && in.at_end() && id && probs && loss && grad;
}

}  // namespace

void validate_request(const request_ref& r) {
    require(r.rows >= 1 && r.classes >= 1, "rows and classes must be at least 1");
    const std::size_t n = r.rows * r.classes;
    require(r.logits.size() == n, "logits must hold rows * classes values");
    if (r.target_form == target_view::kind::index) {
        require(r.target_indices.size() == r.rows, "target_indices must hold rows values");
    } else {
        require(r.target_probs.size() == n, "target_probs must hold rows * classes values");
    }
    require(r.weight.empty() || r.weight.size() == r.classes, "weight must hold classes values");
    if (r.dtype == dtype::float32) {
        require_float32(r.logits, "logits");
        require_float32(r.target_probs, "target_probs");
        require_float32(r.weight, "weight");
    }
}

namespace {

/// The most characters a request line for `r` takes.
std::size_t request_bound(const request_ref& r) {
    const std::size_t target_chars = r.target_form == target_view::kind::index
                                         ? (r.rows + 1) * line_writer::integer_chars
                                         : line_writer::matrix_chars(r.rows, r.classes);
    return line_frame_chars + line_writer::matrix_chars(r.rows, r.classes) + target_chars +
           (r.weight.size() + 2) * line_writer::number_chars;
}

}  // namespace

void encode_request(const request_ref& r, std::int64_t id, std::string& out) {
    std::size_t used = out.size();
    detail::encode_request_at(r, id, out, used);
    out.resize(used);
}

void detail::encode_request_at(const request_ref& r, std::int64_t id, std::string& buffer,
                               std::size_t& used) {
    validate_request(r);
    const bool index_targets = r.target_form == target_view::kind::index;
    line_writer w(buffer, used, request_bound(r));
    w.text("{\"id\":");
    w.integer(id);
    w.text(",\"dtype\":\"");
    w.text(to_string(r.dtype));
    w.text("\",\"logits\":");
    w.matrix(r.logits.data(), r.rows, r.classes);
    w.text(",\"target\":");
    if (index_targets) {
        w.character('[');
        for (std::size_t i = 0; i < r.rows; ++i) {
            if (i != 0) w.character(',');
            w.integer(r.target_indices[i]);
        }
        w.character(']');
    } else {
        w.matrix(r.target_probs.data(), r.rows, r.classes);
    }
    w.text(",\"reduction\":\"");
    w.text(xentcheck::to_string(r.reduction));
    w.character('"');
    if (!r.weight.empty()) {
        w.text(",\"weight\":");
        w.array(r.weight.data(), r.weight.size());
    }
    if (r.ignore_index) {
        w.text(",\"ignore_index\":");
        w.integer(*r.ignore_index);
    }
    if (r.label_smoothing) {
        w.text(",\"label_smoothing\":");
        w.number(*r.label_smoothing);
    }
    w.text("}\n");
    used = w.end();
}

decoded_request decode_request(std::string_view line) {
    decoded_request d;
    request& r = d.value;
    try {
        json_cursor in(line);
        numeric_value logits, target, weight;
        bool has_logits = false, has_target = false;
        detail::request_members m;
        std::string text;
        in.read_object([&](std::string_view key) {
            if (m.read_common(in, key, d, text)) return;
            if (key == "logits") {
                in.read_numeric(logits, "logits");
                has_logits = true;
            } else if (key == "target") {
                in.read_numeric(target, "target");
                has_target = true;
            } else if (key == "weight") {
                in.read_numeric(weight, "weight");
                if (weight.rank != 1)
                    throw decode_error(fault_kind::wrong_shape, "weight: not 1-D");
                r.weight = weight.values;
            } else if (key == "label_smoothing") {
                r.label_smoothing = in.read_number("label_smoothing");
            } else {
                in.skip_value();
            }
        });
        in.expect_end();
        detail::require_present({{d.id.has_value(), "id"},
                                 {m.has_dtype, "dtype"},
                                 {has_logits, "logits"},
                                 {has_target, "target"},
                                 {m.has_reduction, "reduction"}});
        if (logits.rank != 2 || logits.rows == 0 || logits.cols == 0) {
            throw decode_error(fault_kind::wrong_shape, "logits: expected a non-empty 2-D array");
        }
        require_matrix(logits, "logits", logits.rows, logits.cols);
        r.rows = logits.rows;
        r.classes = logits.cols;
        r.logits = std::move(logits.values);
        if (target.rank == 1) {
            if (target.rows != r.rows) {
                throw decode_error(fault_kind::wrong_shape,
                                   "target: " + count_text(target.rows, "index") + " for " +
                                       count_text(r.rows, "row"));
            }
            r.target_form = target_view::kind::index;
            for (const double t : target.values) {
                if (!(std::floor(t) == t && std::abs(t) < 0x1p62)) {
                    throw decode_error(fault_kind::bad_value,
                                       "target: class indices must be integers");
                }
                r.target_indices.push_back(static_cast<std::int64_t>(t));
            }
        } else {
            require_matrix(target, "target", r.rows, r.classes);
            r.target_form = target_view::kind::probability;
            r.target_probs = std::move(target.values);
        }
        if (!r.weight.empty() && r.weight.size() != r.classes) {
            throw decode_error(fault_kind::wrong_shape,
                               "weight: " + count_text(r.weight.size(), "value") + " for " +
                                   count_text(r.classes, "class"));
        }
    } catch (const decode_error& e) {
        d.error = e.what();
    }
    return d;
}

outcome decode_response(std::string_view line, std::int64_t expected_id,
                        const response_shape& shape) {
    outcome result;
    if (decode_common_response(line, expected_id, shape, result.values)) return result;
    result.values = {};
    fault& f = result.fault;
    try {
        json_cursor in(line);
        numeric_value probs, loss, grad;
        const std::size_t n = shape.rows * shape.classes;
        probs.values.reserve(n);
        grad.values.reserve(n);
        detail::response_members m;
        in.read_object([&](std::string_view key) {
            if (m.read_common(in, key)) return;
            if (key == "probs") {
                in.read_numeric(probs, "probs");
                m.has_probs = true;
            } else if (key == "loss") {
                in.read_numeric(loss, "loss");
                m.has_loss = true;
            } else if (key == "grad") {
                in.read_numeric(grad, "grad");
                m.has_grad = true;
            } else {
                in.skip_value();
            }
        });
        in.expect_end();
        m.check(expected_id);
        require_matrix(probs, "probs", shape.rows, shape.classes);
        require_matrix(grad, "grad", shape.rows, shape.classes);
        if (shape.reduction == reduction::none) {
            if (loss.rank != 1 || loss.rows != shape.rows) {
                throw decode_error(
                    fault_kind::wrong_shape,
                    "loss: reduction none needs an array of " + count_text(shape.rows, "value") +
                        ", found " +
                        (loss.rank == 0   ? std::string("a number")
                         : loss.rank == 1 ? "an array of " + count_text(loss.rows, "value")
                                          : std::string("a 2-D array")));
            }
        } else if (loss.rank != 0) {
            throw decode_error(fault_kind::wrong_shape,
                               "loss: reduction " + std::string(to_string(shape.reduction)) +
                                   " needs a single number, found an array");
        }
        result.values.probs = std::move(probs.values);
        result.values.loss = std::move(loss.values);
        result.values.grad = std::move(grad.values);
    } catch (const decode_error& e) {
        f.kind = e.kind();
        f.message = e.what();
        f.raw = truncate_raw(line);
        result.values = {};
    }
    return result;
}

void encode_response(std::int64_t id, const response_values& values, const response_shape& shape,
                     std::string& out) {
    const std::size_t n = shape.rows * shape.classes;
    const std::size_t losses = shape.loss_count();
    if (values.probs.size() != n || values.grad.size() != n || values.loss.size() != losses) {
        throw std::invalid_argument("encode_response: values do not match the response shape");
    }
    line_writer w(out, line_frame_chars + 2 * line_writer::matrix_chars(shape.rows, shape.classes) +
                           losses * line_writer::number_chars);
    w.text("{\"id\":");
    w.integer(id);
    w.text(",\"probs\":");
    w.matrix(values.probs.data(), shape.rows, shape.classes);
    w.text(",\"loss\":");
    if (shape.reduction == reduction::none) {
        w.array(values.loss.data(), shape.rows);
    } else {
        w.number(values.loss[0]);
    }
    w.text(",\"grad\":");
    w.matrix(values.grad.data(), shape.rows, shape.classes);
    w.text("}\n");
    w.finish();
}

void encode_error_response(std::optional<std::int64_t> id, std::string_view message,
                           std::string& out) {
    out += "{\"id\":";
    if (id) {
        append_json_integer(out, *id);
    } else {
        out += "null";
    }
    out += ",\"error\":";
    append_json_string(out, message);
    out += "}\n";
}

}  // namespace xentcheck::check
