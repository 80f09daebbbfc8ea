/// xentcheck/check/check_cases.h: problems to and from the case format, for `check` and `gen`.
#pragma once

#include <string>
#include <vector>

#include "xentcheck/cli/eval_case.h"
#include "xentcheck/cli/input_problem.h"
#include "xentcheck/properties/implementation.h"

namespace xentcheck::check {

/// The problem a case stands for (its logits, target, options and dtype; `expect` is not
/// used). Throws xentcheck::input_error naming the field when the case is not a problem an
/// implementation can be asked: a NaN or +inf logit, or for float32 a value that float32
/// cannot hold exactly (xentcheck never rounds an input silently).
properties::problem problem_of(const cli::eval_case& c);

/// The problem as a case (2-D logits), with `name` and `note` when not empty and, when
/// `expect` is given, its values as the case's `expect` (probs, loss, grad).
cli::eval_case case_of(const properties::problem& p, const properties::outputs* expect,
                       const std::string& name, const std::string& note);

/// The case as one line of JSON in the case format.
std::string case_json(const cli::eval_case& c);

/// Whether `xentcheck eval` fails the case: some check on it (its `expect` values against the
/// reference, their invariants) fails.
bool eval_fails(const cli::eval_case& c);

/// Whether every effective target entry of the problem is non-negative (no negative weight or
/// probability target): the invariants on the loss and the gradient bounds assume it.
bool has_nonnegative_targets(const properties::problem& p);

/// A case read from a file, as a problem to try before the generated ones.
struct fixed_case {
    properties::problem problem;  ///< the case's problem
    std::string origin;           ///< "FILE: case I (\"name\")"
};

/// The cases of `files`, in order. Cases that cannot be read, or are no problem an
/// implementation can be asked (problem_of), are returned in `problems`.
std::vector<fixed_case> read_fixed_cases(const std::vector<std::string>& files,
                                         std::vector<cli::input_problem>& problems);

}  // namespace xentcheck::check
