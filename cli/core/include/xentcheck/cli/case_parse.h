/// xentcheck/cli/case_parse.h: one JSON case object to a validated eval_case.
#pragma once

#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "xentcheck/cli/eval_case.h"
#include "xentcheck/cli/input_problem.h"

namespace xentcheck::cli {

/// The fields a case may have, in the order of docs/case-format.md.
std::span<const std::string_view> case_fields() noexcept;
/// The keys `expect` may have.
std::span<const std::string_view> expect_fields() noexcept;
/// The keys `tolerance` may have.
std::span<const std::string_view> tolerance_fields() noexcept;

/// Reads the case `value` into `out` and validates it (docs/case-format.md). `out` is cleared
/// first, except `index` and `line`, which the caller sets. `out.name` is filled before any
/// other field is examined, so when field_error is thrown the caller can still name the case.
/// Throws field_error naming the offending field ("" when the value is not an object).
void parse_case(const nlohmann::json& value, eval_case& out);

}  // namespace xentcheck::cli
