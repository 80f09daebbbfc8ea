/// Internal: a direct reader of common, valid case lines that skips the JSON document.
#pragma once

#include <cstddef>
#include <string_view>

#include "xentcheck/cli/eval_case.h"

namespace xentcheck::cli::detail {

/// Reads the JSON text of one case straight into `out` (index and line kept, everything else
/// replaced), for the common forms: the keys of the case format each at most once, strings
/// without escapes or non-ASCII bytes, numbers in JSON's grammar or the non-finite strings.
/// Returns true only for a case that parse_json_text + parse_case accept, and then `out` is
/// equal to what they give. Returns false for anything else (other forms, bare NaN tokens,
/// and every invalid case); `out` is then unspecified and the caller must read the line with
/// parse_json_text + parse_case, which explain what is wrong.
bool fast_parse_case(std::string_view text, eval_case& out);

}  // namespace xentcheck::cli::detail
