/// json_number_codec.h: JSON number text to and from raw buffers for the protocol hot paths
/// (internal to check_core); the reading half lives in xentcheck/common/json_number_reader.h.
#pragma once

#include <cstddef>

#include "xentcheck/common/json_number_reader.h"

namespace xentcheck::check::detail {

/// The most characters write_json_number writes for one value ("-2.2250738585072014e-308").
inline constexpr std::size_t max_json_number_chars = 24;
/// The bytes write_json_number needs from `out` on: it copies fixed-size blocks, so it may
/// write (not keep) up to this many bytes past the start even for a short number.
inline constexpr std::size_t json_number_room = 40;

/// Writes the text append_json_number appends (std::to_chars's shortest round-trip text, -0 as
/// "-0", non-finite values as the quoted tokens "inf", "-inf", "nan") at `out`, which must have
/// json_number_room bytes; returns the end of the text.
char* write_json_number(char* out, double value) noexcept;

/// The protocol's number reader (shared with the case reader of cli/core).
using common::read_json_number;

}  // namespace xentcheck::check::detail
