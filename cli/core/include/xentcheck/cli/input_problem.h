/// xentcheck/cli/input_problem.h: input errors that name the file, the case and the field.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace xentcheck::cli {

/// Why a file or a case could not be evaluated. Rendered by to_string() as, for example,
/// `cases.json: case 3 ("ragged"): logits: row 1 has 2 values, expected 3`.
struct input_problem {
    std::string file;                       ///< the path as given on the command line
    std::optional<std::size_t> case_index;  ///< index of the case in its file, from 0
    std::optional<std::string> case_name;   ///< the case's `name`, when it has a readable one
    std::optional<std::size_t> line;        ///< 1-based line (JSON Lines, syntax errors)
    std::optional<std::size_t> column;      ///< 1-based column (syntax errors)
    std::string field;                      ///< "logits", "expect.grad", ...; empty if none
    std::string message;                    ///< what is wrong

    /// "file: [line L[, column C]: ][case I ("name"): ][field: ]message".
    std::string to_string() const;
};

/// Raised while reading one case: `field` names the offending field ("" for the case itself).
class field_error : public std::runtime_error {
  public:
    /// `field`: the offending field; `message`: what is wrong with it.
    field_error(std::string field, const std::string& message)
        : std::runtime_error(message), field_(std::move(field)) {}
    /// The offending field, e.g. "logits" or "expect.loss".
    const std::string& field() const noexcept { return field_; }

  private:
    std::string field_;
};

}  // namespace xentcheck::cli
