/// Rendering of input problems as one-line messages.
#include "xentcheck/cli/input_problem.h"

#include "xentcheck/cli/json_out.h"

namespace xentcheck::cli {

std::string input_problem::to_string() const {
    std::string s = file;
    s += ": ";
    if (line) {
        s += "line " + std::to_string(*line);
        if (column) s += ", column " + std::to_string(*column);
        s += ": ";
    }
    if (case_index) {
        s += "case " + std::to_string(*case_index);
        if (case_name) s += " (" + json_string(*case_name) + ")";
        s += ": ";
    }
    if (!field.empty()) s += field + ": ";
    s += message;
    return s;
}

}  // namespace xentcheck::cli
