/// xentcheck/cli/case_writer.h: an eval_case back to the case format (one line of JSON).
#pragma once

#include <string>

#include <fmt/format.h>

#include "xentcheck/cli/eval_case.h"

namespace xentcheck::cli {

/// Appends `c` as one line of JSON (no trailing newline) in the case format: the fields that
/// differ from their defaults, the input as given (logits or probs), numbers in shortest
/// round-trip form and non-finite values as "nan", "inf", "-inf". Reading the text back gives
/// an equal case, so counterexamples can be saved and replayed.
void write_case(fmt::memory_buffer& out, const eval_case& c);

/// write_case into a new string.
std::string case_to_json(const eval_case& c);

}  // namespace xentcheck::cli
