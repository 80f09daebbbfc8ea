/// xentcheck/check/packed_protocol.h: the protocol's packed form, spoken only between xentcheck
/// and its own `serve-lib` child.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xentcheck/check/protocol.h"
#include "xentcheck/check/shared_region.h"

namespace xentcheck::check {

/// Where the arrays of the packed messages of one batch go when a shared region is used: the
/// region and the bytes of it already taken by earlier requests of the batch.
struct region_cursor {
    shared_region* region = nullptr;  ///< the creator's region (valid)
    std::size_t used = 0;             ///< bytes taken, a multiple of 64
};

/// Appends the packed request line for `r` ('\n' included): a JSON object like the protocol's,
/// with "packed": 1, explicit "rows" and "classes", and every array (logits, targets, weight)
/// and label_smoothing as a base64 string of little-endian IEEE doubles (class indices: int64).
/// The bits travel as they are (NaN payloads, -0, infinities), and no number is printed or
/// parsed. Validates first (validate_request).
///
/// With `shared`, the arrays are instead copied into the shared region and the line names them
/// as [byte offset, count]; room for the answer's arrays is set aside after them and named by
/// "out": offset. An array that does not fit (the region cannot grow) travels in base64.
void encode_packed_request(const request_ref& r, std::int64_t id, std::string& out,
                           region_cursor* shared = nullptr);

/// Whether a request line is packed: its first member after "id" is "packed" (as
/// encode_packed_request writes it).
bool is_packed_request(std::string_view line) noexcept;

/// Where a packed request's input arrays lie in the shared region when they are used there in
/// place instead of being copied into the decoded request: byte offsets (8-aligned, checked
/// against the region), or none for an array the request carried in base64 (or did not have).
struct packed_in_place {
    std::optional<std::size_t> logits;  ///< N x C doubles
    std::optional<std::size_t> target;  ///< N int64 indices or N x C doubles, as target_form
    std::optional<std::size_t> weight;  ///< C doubles
};

/// Decodes a packed request line (without its '\n'); the error names the field. Arrays given
/// as [offset, count] are read from `region` (mapped further when needed; without one, or out
/// of its bounds, the request is refused); `answer_at` receives the "out" offset, if any. With
/// `in_place`, such arrays are not copied: their offsets go there and the request's vectors for
/// them stay empty (serve-lib hands the library pointers into the region).
decoded_request decode_packed_request(std::string_view line, shared_region* region = nullptr,
                                      std::optional<std::size_t>* answer_at = nullptr,
                                      packed_in_place* in_place = nullptr);

/// Appends a packed success response ('\n' included): "probs", "loss" and "grad" as base64
/// strings of doubles (an answer in the shared region is named by
/// encode_packed_response_in_place instead). Throws std::invalid_argument when the sizes do
/// not match `shape`.
void encode_packed_response(std::int64_t id, const response_values& values,
                            const response_shape& shape, std::string& out);

/// The bytes a packed request's arrays and the room for its answer take in the shared region
/// (what encode_packed_request reserves there): logits, targets, weights (each rounded up to
/// 64 bytes), and the answer (packed_answer_layout).
std::size_t packed_region_bytes(const request_ref& r) noexcept;

/// Where the answer to a packed request goes in the region: probs (N x C), loss and grad, one
/// after the other from the request's "out" offset.
struct packed_answer_layout {
    std::size_t probs = 0, loss = 0, grad = 0;  ///< byte offsets in the region
    std::size_t end = 0;                        ///< one past the last byte
    /// The layout of an answer of `shape` starting at `at`.
    static packed_answer_layout of(const response_shape& shape, std::size_t at) noexcept;
};

/// Appends the packed success response ('\n' included) for an answer the serving side has
/// already written into the region where `layout` says (so it is not copied there again).
void encode_packed_response_in_place(std::int64_t id, const response_shape& shape,
                                     const packed_answer_layout& layout, std::string& out);

/// Decodes a response to a packed request: packed values, or the protocol's error response
/// ({"id": ..., "error": ...}). Faults as decode_response: garbage, missing_field, wrong_id,
/// error_response, wrong_shape (a value count that does not match the request), bad_value
/// (a string that is not base64 of whole doubles, or a reference outside `region`).
outcome decode_packed_response(std::string_view line, std::int64_t expected_id,
                               const response_shape& shape, const shared_region* region = nullptr);

}  // namespace xentcheck::check
