/// xentcheck/check/protocol.h: the JSON-lines protocol (version 1) spoken with implementations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/check/fault.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck::check {

/// The protocol version this codec speaks (docs/protocol.md).
inline constexpr int protocol_version = 1;

/// The precision the implementation computes in.
enum class dtype { float32, float64 };
/// "float32" or "float64".
std::string_view to_string(dtype type) noexcept;
/// Parses "float32" or "float64".
std::optional<dtype> parse_dtype(std::string_view name) noexcept;

/// One problem as sent to an implementation: F.cross_entropy(logits, target, weight,
/// ignore_index, reduction, label_smoothing) and torch.softmax(logits, 1). N >= 1, C >= 1.
struct request {
    xentcheck::check::dtype dtype = dtype::float64;  ///< precision of inputs and outputs
    std::size_t rows = 0;                            ///< N
    std::size_t classes = 0;                         ///< C
    std::vector<double> logits;                      ///< N x C, row-major
    /// Which target form is used.
    target_view::kind target_form = target_view::kind::index;
    std::vector<std::int64_t> target_indices;  ///< N class indices (index form)
    std::vector<double> target_probs;          ///< N x C target rows (probability form)
    std::vector<double> weight;                ///< C class weights, or empty: not sent
    std::optional<std::int64_t> ignore_index;  ///< sent when set (PyTorch's default is -100)
    std::optional<double> label_smoothing;     ///< sent when set
    xentcheck::reduction reduction = reduction::mean;  ///< how row losses are combined

    /// The targets as the reference takes them (views into this request).
    target_view target() const;
    /// The options as the reference takes them (views into this request).
    cross_entropy_options options() const;
    /// Number of loss values a response carries: N for reduction none, else 1.
    std::size_t loss_count() const noexcept;
};

/// A request's contents as views, which is all that encoding and validation read: a request
/// converts to one, and a problem does without copying its arrays (to_request in
/// external_implementation.h). The arrays must outlive it.
struct request_ref {
    xentcheck::check::dtype dtype = dtype::float64;  ///< precision of inputs and outputs
    std::size_t rows = 0;                            ///< N
    std::size_t classes = 0;                         ///< C
    std::span<const double> logits;                  ///< N x C, row-major
    /// Which target form is used.
    target_view::kind target_form = target_view::kind::index;
    std::span<const std::int64_t> target_indices;      ///< N class indices (index form)
    std::span<const double> target_probs;              ///< N x C target rows (probability form)
    std::span<const double> weight;                    ///< C class weights, or empty: not sent
    std::optional<std::int64_t> ignore_index;          ///< sent when set
    std::optional<double> label_smoothing;             ///< sent when set
    xentcheck::reduction reduction = reduction::mean;  ///< how row losses are combined

    request_ref() = default;
    /// Views of `r`'s arrays (implicit: wherever a request_ref is read, a request will do).
    request_ref(const request& r) noexcept;  // NOLINT(google-explicit-constructor)

    /// The targets as the reference takes them (views into the viewed arrays).
    target_view target() const;
    /// The options as the reference takes them (views into the viewed arrays).
    cross_entropy_options options() const;
};

/// Throws std::invalid_argument unless `r` is sendable: N, C >= 1, every array sized to match,
/// and for float32 every logit, target probability and weight exactly representable in float32
/// (xentcheck never rounds an input silently: the reference must see what the implementation
/// sees). Class-index ranges and option domains are not checked (invalid input is a legitimate
/// thing to send).
void validate_request(const request_ref& r);

/// Appends the request line for `r` with id `id` to `out`, '\n' included. Validates first.
void encode_request(const request_ref& r, std::int64_t id, std::string& out);

namespace detail {

/// The core of encode_request, for a buffer reused line after line (the process client's):
/// the line is written at `buffer[used]` on, over whatever is there, and `used` is moved past
/// it; the buffer's size is room kept between calls and grows only when a line needs more.
/// Appending to a cleared string instead zero-filled the line's upper bound on every request
/// (1.1k instructions each, 2% of a check run's). Validates first.
void encode_request_at(const request_ref& r, std::int64_t id, std::string& buffer,
                       std::size_t& used);

}  // namespace detail

/// A request line as the serving side decodes it.
struct decoded_request {
    std::optional<std::int64_t> id;  ///< the id, when it could be read
    request value;                   ///< the problem (valid only when error is empty)
    std::string error;               ///< why the line is not a valid request, or empty
};

/// Decodes a request line (without its '\n'). Checks JSON, field types and shapes; unknown
/// fields are ignored.
decoded_request decode_request(std::string_view line);

/// The values of a successful response, row-major, as doubles (float32 values are exact).
struct response_values {
    std::vector<double> probs;  ///< N x C softmax outputs
    std::vector<double> loss;   ///< N values (reduction none) or 1
    std::vector<double> grad;   ///< N x C, d loss / d logits (for none: of sum_i L_i)
};

/// A response: the values, or a fault explaining why there are none.
struct outcome {
    response_values values;         ///< meaningful only when ok()
    xentcheck::check::fault fault;  ///< kind none on success
    /// Whether the values are usable.
    bool ok() const noexcept { return fault.kind == fault_kind::none; }
};

/// What a response to a given request must look like.
struct response_shape {
    std::size_t rows = 0;                              ///< N
    std::size_t classes = 0;                           ///< C
    xentcheck::reduction reduction = reduction::mean;  ///< scalar or per-row loss
    /// The shape of the response to `r`.
    static response_shape of(const request_ref& r) noexcept {
        return {r.rows, r.classes, r.reduction};
    }
    /// Number of loss values: N for reduction none, else 1.
    std::size_t loss_count() const noexcept { return reduction == reduction::none ? rows : 1; }
};

/// Decodes a response line (without its '\n') to request `expected_id` of shape `shape`.
/// Faults: garbage (not a JSON object, trailing text), missing_field (id, or any of probs /
/// loss / grad when there is no "error"), wrong_id, error_response (the "error" member; its
/// text is the message), wrong_shape (probs and grad must be N rows of C numbers, loss a number
/// for mean/sum and N numbers for none), bad_value (strings other than non-finite tokens,
/// non-numbers). Unknown members are ignored. `raw` holds the line, truncated.
outcome decode_response(std::string_view line, std::int64_t expected_id,
                        const response_shape& shape);

/// Appends a success response line ('\n' included) to `out`. Throws std::invalid_argument when
/// the sizes of `values` do not match `shape`.
void encode_response(std::int64_t id, const response_values& values, const response_shape& shape,
                     std::string& out);

/// Appends an error response line {"id": id, "error": message} ('\n' included) to `out`; a
/// missing id is written as null.
void encode_error_response(std::optional<std::int64_t> id, std::string_view message,
                           std::string& out);

}  // namespace xentcheck::check
