/// Internal: the members every response decoder reads and checks the same way (id, error, and
/// which of probs / loss / grad were present), whatever form the values take.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "json_cursor.h"

namespace xentcheck::check::detail {

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
