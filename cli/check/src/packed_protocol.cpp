/// The protocol's packed form (xentcheck <-> serve-lib): arrays as base64 of raw doubles.
#include "xentcheck/check/packed_protocol.h"

#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "json_cursor.h"
#include "message_members.h"
#include "xentcheck/check/json_numbers.h"

namespace xentcheck::check {

namespace {

using detail::decode_error;
using detail::json_cursor;

static_assert(std::endian::native == std::endian::little, "packed values are little-endian");

constexpr char base64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends `"<base64 of the bytes>"`.
void append_base64(std::string& out, const void* data, std::size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    out += '"';
    const std::size_t start = out.size();
    out.resize(start + (bytes + 2) / 3 * 4);
    char* o = out.data() + start;
    std::size_t i = 0;
    for (; i + 3 <= bytes; i += 3) {
        const unsigned v = unsigned(p[i]) << 16 | unsigned(p[i + 1]) << 8 | p[i + 2];
        *o++ = base64_digits[v >> 18];
        *o++ = base64_digits[v >> 12 & 63];
        *o++ = base64_digits[v >> 6 & 63];
        *o++ = base64_digits[v & 63];
    }
    if (i < bytes) {
        const unsigned v = unsigned(p[i]) << 16 | (i + 1 < bytes ? unsigned(p[i + 1]) << 8 : 0u);
        *o++ = base64_digits[v >> 18];
        *o++ = base64_digits[v >> 12 & 63];
        *o++ = i + 1 < bytes ? base64_digits[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    out += '"';
}

constexpr std::array<signed char, 256> base64_values = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    for (int k = 0; k < 64; ++k)
        t[static_cast<unsigned char>(base64_digits[k])] = static_cast<signed char>(k);
    return t;
}();

/// The bytes of a base64 text (padding required, nothing else allowed), or throws bad_value.
void decode_base64(std::string_view text, std::string& bytes, std::string_view field) {
    const auto bad = [&] {
        throw decode_error(fault_kind::bad_value, std::string(field) + ": not packed values");
    };
    if (text.size() % 4 != 0) bad();
    bytes.resize(text.size() / 4 * 3);
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const int d = k >= 4 - pad ? 0 : base64_values[static_cast<unsigned char>(text[i + k])];
            if (d < 0) bad();
            v = v << 6 | static_cast<unsigned>(d);
        }
        bytes[n++] = static_cast<char>(v >> 16);
        if (pad < 2) bytes[n++] = static_cast<char>(v >> 8 & 255);
        if (pad < 1) bytes[n++] = static_cast<char>(v & 255);
    }
    bytes.resize(n);
}

/// The bytes a reference [offset, count] names in a region, or nullptr when it names bytes
/// outside it. `Region` maps further on demand (the child) or is fixed (the creator).
template <class Region>
const std::byte* resolve(Region* region, std::int64_t offset, std::int64_t count) {
    if (region == nullptr || offset < 0 || offset % 8 != 0 || count < 0 ||
        count > (std::int64_t{1} << 40)) {
        return nullptr;
    }
    const auto end = static_cast<std::size_t>(offset) + static_cast<std::size_t>(count) * 8;
    if constexpr (std::is_const_v<Region>) {
        if (end > region->size()) return nullptr;
    } else {
        if (!region->map_at_least(end)) return nullptr;
    }
    return region->data() + offset;
}

/// Reads 8-byte values (double or int64) into `out`: a base64 string, or a reference
/// [offset, count] into `region`, whose offset goes to `in_place` instead when given (the values
/// are then not copied). Returns the number of values. Throws bad_value for anything else.
template <class T, class Region>
std::size_t read_packed(json_cursor& in, std::string& text, std::string& bytes, std::vector<T>& out,
                        std::string_view field, Region* region,
                        std::optional<std::size_t>* in_place = nullptr) {
    static_assert(sizeof(T) == 8);
    if (in.peek() == '[') {
        in.expect('[', "'['");
        const std::int64_t offset = in.read_integer(field);
        in.expect(',', "','");
        const std::int64_t count = in.read_integer(field);
        in.expect(']', "']'");
        const std::byte* at = resolve(region, offset, count);
        if (at == nullptr) {
            throw decode_error(fault_kind::bad_value,
                               std::string(field) + ": outside the shared region");
        }
        if (in_place != nullptr && count > 0) {
            *in_place = static_cast<std::size_t>(offset);
            return static_cast<std::size_t>(count);
        }
        // Copied once (resize + memcpy would first zero the array): the region holds values
        // of this type at an 8-aligned offset of a page-aligned mapping.
        const T* values = reinterpret_cast<const T*>(at);
        out.assign(values, values + count);
        return out.size();
    }
    if (in.peek() != '"') {
        throw decode_error(fault_kind::bad_value, std::string(field) + ": not packed values");
    }
    in.read_string(text);
    decode_base64(text, bytes, field);
    if (bytes.size() % 8 != 0) {
        throw decode_error(fault_kind::bad_value, std::string(field) + ": not whole values");
    }
    out.resize(bytes.size() / 8);
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out.size();
}

constexpr std::size_t round_up_64(std::size_t bytes) {
    return (bytes + 63) / 64 * 64;
}

void append_reference(std::string& out, std::size_t offset, std::size_t count) {
    out += '[';
    append_json_integer(out, static_cast<std::int64_t>(offset));
    out += ',';
    append_json_integer(out, static_cast<std::int64_t>(count));
    out += ']';
}

/// Appends `count` 8-byte values: copied into the shared region and named by a reference when
/// there is one and it can hold them, otherwise as base64.
void append_array(std::string& out, const void* data, std::size_t count, region_cursor* shared) {
    const std::size_t bytes = count * 8;
    if (shared != nullptr && shared->region->reserve(shared->used + bytes)) {
        if (bytes > 0) std::memcpy(shared->region->data() + shared->used, data, bytes);
        append_reference(out, shared->used, count);
        shared->used += round_up_64(bytes);
        return;
    }
    append_base64(out, data, bytes);
}

void require_count(std::size_t have, std::size_t want, std::string_view field) {
    if (have != want) {
        throw decode_error(fault_kind::wrong_shape,
                           std::string(field) + ": " + std::to_string(have) + " values, expected " +
                               std::to_string(want));
    }
}

}  // namespace

void encode_packed_request(const request_ref& r, std::int64_t id, std::string& out,
                           region_cursor* shared) {
    validate_request(r);
    out += "{\"id\":";
    append_json_integer(out, id);
    out += ",\"packed\":1,\"dtype\":\"";
    out += to_string(r.dtype);
    out += "\",\"rows\":";
    append_json_integer(out, static_cast<std::int64_t>(r.rows));
    out += ",\"classes\":";
    append_json_integer(out, static_cast<std::int64_t>(r.classes));
    out += ",\"logits\":";
    append_array(out, r.logits.data(), r.logits.size(), shared);
    if (r.target_form == target_view::kind::index) {
        out += ",\"target_indices\":";
        append_array(out, r.target_indices.data(), r.target_indices.size(), shared);
    } else {
        out += ",\"target_probs\":";
        append_array(out, r.target_probs.data(), r.target_probs.size(), shared);
    }
    out += ",\"reduction\":\"";
    out += xentcheck::to_string(r.reduction);
    out += '"';
    if (!r.weight.empty()) {
        out += ",\"weight\":";
        append_array(out, r.weight.data(), r.weight.size(), shared);
    }
    if (r.ignore_index) {
        out += ",\"ignore_index\":";
        append_json_integer(out, *r.ignore_index);
    }
    if (r.label_smoothing) {
        out += ",\"label_smoothing\":";
        append_base64(out, &*r.label_smoothing, 8);
    }
    if (shared != nullptr) {
        // Room for the answer: probs, loss and grad, one after the other.
        const packed_answer_layout room =
            packed_answer_layout::of(response_shape::of(r), shared->used);
        if (shared->region->reserve(room.end)) {
            out += ",\"out\":";
            append_json_integer(out, static_cast<std::int64_t>(shared->used));
            shared->used += round_up_64(room.end - shared->used);
        }
    }
    out += "}\n";
}

std::size_t packed_region_bytes(const request_ref& r) noexcept {
    const std::size_t targets =
        r.target_form == target_view::kind::index ? r.target_indices.size() : r.target_probs.size();
    const packed_answer_layout answer = packed_answer_layout::of(response_shape::of(r), 0);
    return round_up_64(r.logits.size() * 8) + round_up_64(targets * 8) +
           round_up_64(r.weight.size() * 8) + round_up_64(answer.end);
}

bool is_packed_request(std::string_view line) noexcept {
    const std::size_t comma = line.find(',');
    return comma != std::string_view::npos && line.substr(comma).starts_with(",\"packed\":1,");
}

decoded_request decode_packed_request(std::string_view line, shared_region* region,
                                      std::optional<std::size_t>* answer_at,
                                      packed_in_place* in_place) {
    decoded_request d;
    request& r = d.value;
    if (in_place != nullptr) *in_place = packed_in_place{};
    try {
        json_cursor in(line);
        std::string text, bytes;
        std::optional<std::int64_t> rows, classes;
        bool has_logits = false, has_target = false;
        std::size_t logits = 0, targets = 0, weights = 0;  // values of each array
        const auto place = [&](std::optional<std::size_t> packed_in_place::*member) {
            return in_place != nullptr ? &(in_place->*member) : nullptr;
        };
        detail::request_members m;
        in.read_object([&](std::string_view key) {
            if (m.read_common(in, key, d, text)) return;
            if (key == "rows") {
                rows = in.read_integer("rows");
            } else if (key == "classes") {
                classes = in.read_integer("classes");
            } else if (key == "logits") {
                logits = read_packed(in, text, bytes, r.logits, "logits", region,
                                     place(&packed_in_place::logits));
                has_logits = true;
            } else if (key == "target_indices") {
                targets = read_packed(in, text, bytes, r.target_indices, "target_indices", region,
                                      place(&packed_in_place::target));
                r.target_form = target_view::kind::index;
                has_target = true;
            } else if (key == "target_probs") {
                targets = read_packed(in, text, bytes, r.target_probs, "target_probs", region,
                                      place(&packed_in_place::target));
                r.target_form = target_view::kind::probability;
                has_target = true;
            } else if (key == "weight") {
                weights = read_packed(in, text, bytes, r.weight, "weight", region,
                                      place(&packed_in_place::weight));
            } else if (key == "label_smoothing") {
                std::vector<double> v;
                read_packed(in, text, bytes, v, "label_smoothing", region);
                require_count(v.size(), 1, "label_smoothing");
                r.label_smoothing = v[0];
            } else if (key == "out") {
                const std::int64_t at = in.read_integer("out");
                if (at < 0 || at % 8 != 0) {
                    throw decode_error(fault_kind::bad_value, "out: not an offset");
                }
                if (answer_at != nullptr) *answer_at = static_cast<std::size_t>(at);
            } else {
                in.skip_value();
            }
        });
        in.expect_end();
        detail::require_present({{d.id.has_value(), "id"},
                                 {rows.has_value(), "rows"},
                                 {classes.has_value(), "classes"},
                                 {m.has_dtype, "dtype"},
                                 {has_logits, "logits"},
                                 {has_target, "target"},
                                 {m.has_reduction, "reduction"}});
        if (*rows < 1 || *classes < 1 || *rows > (std::int64_t{1} << 40) ||
            *classes > (std::int64_t{1} << 40)) {
            throw decode_error(fault_kind::wrong_shape, "rows and classes must be positive");
        }
        r.rows = static_cast<std::size_t>(*rows);
        r.classes = static_cast<std::size_t>(*classes);
        require_count(logits, r.rows * r.classes, "logits");
        if (r.target_form == target_view::kind::index) {
            require_count(targets, r.rows, "target_indices");
        } else {
            require_count(targets, r.rows * r.classes, "target_probs");
        }
        if (weights != 0) require_count(weights, r.classes, "weight");
    } catch (const decode_error& e) {
        d.error = e.what();
    }
    return d;
}

packed_answer_layout packed_answer_layout::of(const response_shape& shape,
                                              std::size_t at) noexcept {
    const std::size_t n = shape.rows * shape.classes;
    const std::size_t losses = shape.loss_count();
    return {at, at + n * 8, at + (n + losses) * 8, at + (2 * n + losses) * 8};
}

void encode_packed_response_in_place(std::int64_t id, const response_shape& shape,
                                     const packed_answer_layout& layout, std::string& out) {
    const std::size_t n = shape.rows * shape.classes;
    const std::size_t losses = shape.loss_count();
    out += "{\"id\":";
    append_json_integer(out, id);
    out += ",\"probs\":";
    append_reference(out, layout.probs, n);
    out += ",\"loss\":";
    append_reference(out, layout.loss, losses);
    out += ",\"grad\":";
    append_reference(out, layout.grad, n);
    out += "}\n";
}

void encode_packed_response(std::int64_t id, const response_values& values,
                            const response_shape& shape, std::string& out) {
    const std::size_t n = shape.rows * shape.classes;
    const std::size_t losses = shape.loss_count();
    if (values.probs.size() != n || values.grad.size() != n || values.loss.size() != losses) {
        throw std::invalid_argument("encode_packed_response: values do not match the shape");
    }
    out += "{\"id\":";
    append_json_integer(out, id);
    out += ",\"probs\":";
    append_base64(out, values.probs.data(), n * 8);
    out += ",\"loss\":";
    append_base64(out, values.loss.data(), losses * 8);
    out += ",\"grad\":";
    append_base64(out, values.grad.data(), n * 8);
    out += "}\n";
}

outcome decode_packed_response(std::string_view line, std::int64_t expected_id,
                               const response_shape& shape, const shared_region* region) {
    outcome result;
    try {
        json_cursor in(line);
        std::string text, bytes;
        detail::response_members m;
        response_values& v = result.values;
        in.read_object([&](std::string_view key) {
            if (m.read_common(in, key)) return;
            if (key == "probs") {
                read_packed(in, text, bytes, v.probs, "probs", region);
                m.has_probs = true;
            } else if (key == "loss") {
                read_packed(in, text, bytes, v.loss, "loss", region);
                m.has_loss = true;
            } else if (key == "grad") {
                read_packed(in, text, bytes, v.grad, "grad", region);
                m.has_grad = true;
            } else {
                in.skip_value();
            }
        });
        in.expect_end();
        m.check(expected_id);
        const std::size_t n = shape.rows * shape.classes;
        require_count(v.probs.size(), n, "probs");
        require_count(v.grad.size(), n, "grad");
        require_count(v.loss.size(), shape.loss_count(), "loss");
    } catch (const decode_error& e) {
        result.values = {};
        result.fault.kind = e.kind();
        result.fault.message = e.what();
        result.fault.raw = truncate_raw(line);
    }
    return result;
}

}  // namespace xentcheck::check
