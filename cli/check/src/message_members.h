/// Internal: the members the request and response decoders of both forms (JSON numbers, packed)
/// read and check the same way, whatever form the values take.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "json_cursor.h"
#include "xentcheck/check/protocol.h"

namespace xentcheck::check::detail {

/// Throws missing_field naming the first member that is not present.
inline void require_present(std::initializer_list<std::pair<bool, const char*>> members) {
    for (const auto& [present, name] : members) {
        if (!present)
            throw decode_error(fault_kind::missing_field, std::string(name) + ": missing");
    }
}

/// The request members both forms read alike: id, dtype, reduction, ignore_index.
struct request_members {
    bool has_dtype = false, has_reduction = false;

    /// Reads the value of `key` into `d` when it is one of those; false for any other key.
    /// `text` is scratch space.
    bool read_common(json_cursor& in, std::string_view key, decoded_request& d, std::string& text) {
        if (key == "id") {
            d.id = in.read_integer("id");
        } else if (key == "dtype") {
            in.read_string(text);
            const auto t = parse_dtype(text);
            if (!t) throw decode_error(fault_kind::bad_value, "dtype: unknown \"" + text + "\"");
            d.value.dtype = *t;
            has_dtype = true;
        } else if (key == "reduction") {
            in.read_string(text);
            try {
                d.value.reduction = parse_reduction(text);
            } catch (const input_error& e) {
                throw decode_error(fault_kind::bad_value, e.what());
            }
            has_reduction = true;
        } else if (key == "ignore_index") {
            d.value.ignore_index = in.read_integer("ignore_index");
        } else {
            return false;
        }
        return true;
    }
};

/// What a response object said besides its values.
struct response_members {
    std::optional<std::int64_t> id;
    bool has_probs = false, has_loss = false, has_grad = false, has_error = false;
    std::string error_text;

    /// Reads the value of `key` when it is "id" or "error" (an error that is not a string is
    /// kept as a description); false for any other key, whose value is left unread.
    bool read_common(json_cursor& in, std::string_view key) {
        if (key == "id") {
            id = in.read_integer("id");
        } else if (key == "error") {
            has_error = true;
            if (in.peek() == '"') {
                in.read_string(error_text);
            } else {
                in.skip_value();
                error_text = "(a non-string error value)";
            }
        } else {
            return false;
        }
        return true;
    }

    /// Throws the fault docs/protocol.md gives, checked in its order: missing_field (id),
    /// wrong_id, error_response (the error's text), missing_field (probs, loss, grad).
    void check(std::int64_t expected_id) const {
        if (!id) throw decode_error(fault_kind::missing_field, "id: missing");
        if (*id != expected_id) {
            throw decode_error(fault_kind::wrong_id, "expected id " + std::to_string(expected_id) +
                                                         ", found " + std::to_string(*id));
        }
        if (has_error) throw decode_error(fault_kind::error_response, error_text);
        std::string missing;
        for (const auto& [present, name] :
             {std::pair{has_probs, "probs"}, std::pair{has_loss, "loss"},
              std::pair{has_grad, "grad"}}) {
            if (!present) missing += missing.empty() ? name : std::string(", ") + name;
        }
        if (!missing.empty()) throw decode_error(fault_kind::missing_field, missing + ": missing");
    }
};

}  // namespace xentcheck::check::detail
