/// xentcheck/check/packed_protocol.h: the protocol's packed form, spoken only between xentcheck
/// and its own `serve-lib` child.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xentcheck/check/protocol.h"

namespace xentcheck::check {

/// Appends the packed request line for `r` ('\n' included): a JSON object like the protocol's,
/// with "packed": 1, explicit "rows" and "classes", and every array (logits, targets, weight)
/// and label_smoothing as a base64 string of little-endian IEEE doubles (class indices: int64).
/// The bits travel as they are (NaN payloads, -0, infinities), and no number is printed or
/// parsed. Validates first (validate_request).
void encode_packed_request(const request& r, std::int64_t id, std::string& out);

/// Whether a request line is packed: its first member after "id" is "packed" (as
/// encode_packed_request writes it).
bool is_packed_request(std::string_view line) noexcept;

/// Decodes a packed request line (without its '\n'); the error names the field.
decoded_request decode_packed_request(std::string_view line);

/// Appends a packed success response ('\n' included): "probs", "loss" and "grad" as base64
/// strings of doubles. Throws std::invalid_argument when the sizes do not match `shape`.
void encode_packed_response(std::int64_t id, const response_values& values,
                            const response_shape& shape, std::string& out);

/// Decodes a response to a packed request: packed values, or the protocol's error response
/// ({"id": ..., "error": ...}). Faults as decode_response: garbage, missing_field, wrong_id,
/// error_response, wrong_shape (a value count that does not match the request), bad_value
/// (a string that is not base64 of whole doubles).
outcome decode_packed_response(std::string_view line, std::int64_t expected_id,
                               const response_shape& shape);

}  // namespace xentcheck::check
