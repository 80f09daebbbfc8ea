/// xentcheck/check/fault.h: the ways an external implementation can fail to answer a request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xentcheck::check {

/// Why a request got no usable answer. Every kind but `none` is a finding about the
/// implementation (or its command line); see docs/protocol.md for what xentcheck does on each.
enum class fault_kind {
    none,            ///< a well-formed response with every value in place
    error_response,  ///< the implementation answered {"id": .., "error": "reason"}
    garbage,         ///< the response line is not a JSON object (or has trailing text)
    partial_line,    ///< the output ended before the response line's '\n'
    wrong_id,        ///< the response carries another request's id
    missing_field,   ///< "id", "probs", "loss" or "grad" is absent
    wrong_shape,     ///< ragged rows, wrong N or C, a scalar loss where N values are due, ...
    bad_value,       ///< a string that is not a non-finite token, or a non-number, as a value
    line_too_long,   ///< a response line exceeded the client's size limit
    timed_out,       ///< no response within the timeout (the process group was killed)
    crashed,         ///< the process was killed by a signal
    exited,          ///< the process exited with a non-zero status
    output_closed,   ///< the process closed its stdout (or exited with status 0) unasked
    start_failed,    ///< the command could not be run (spawn failure, status 126 or 127)
    skipped,         ///< not sent: an earlier request of the batch faulted (stop policy)
};

/// A short stable name: "none", "error_response", "garbage", ... (the enumerator's name).
std::string_view to_string(fault_kind kind) noexcept;

/// Whether the process must be restarted before the next request: true for faults after which
/// the output stream can no longer be trusted to hold exactly one line per request (or the
/// process is gone), false for line-level faults (error_response, missing_field, wrong_shape,
/// bad_value) and none/skipped.
bool requires_restart(fault_kind kind) noexcept;

/// One fault with what is known about it.
struct fault {
    fault_kind kind = fault_kind::none;  ///< what went wrong
    std::string message;                 ///< human-readable detail ("row 2 has 3 values, ...")
    std::string raw;  ///< the offending output, truncated to fault::max_raw_bytes (may be empty)
    /// True when the process ended (or hung) before answering any request since it was
    /// (re)started: repeated startup faults mean the command itself is broken.
    bool at_startup = false;
    /// How much offending output is kept in `raw`.
    static constexpr std::size_t max_raw_bytes = 240;
    /// "garbage: not JSON: expected '{' (raw: hello)".
    std::string to_string() const;
};

/// `text` cut to at most `limit` bytes (without splitting a UTF-8 sequence), with "..." appended
/// when something was cut.
std::string truncate_raw(std::string_view text, std::size_t limit = fault::max_raw_bytes);

}  // namespace xentcheck::check
