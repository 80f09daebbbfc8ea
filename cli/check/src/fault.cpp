/// Names and helpers for the faults of external implementations.
#include "xentcheck/check/fault.h"

namespace xentcheck::check {

std::string_view to_string(fault_kind kind) noexcept {
    switch (kind) {
        case fault_kind::none:
            return "none";
        case fault_kind::error_response:
            return "error_response";
        case fault_kind::garbage:
            return "garbage";
        case fault_kind::partial_line:
            return "partial_line";
        case fault_kind::wrong_id:
            return "wrong_id";
        case fault_kind::missing_field:
            return "missing_field";
        case fault_kind::wrong_shape:
            return "wrong_shape";
        case fault_kind::bad_value:
            return "bad_value";
        case fault_kind::line_too_long:
            return "line_too_long";
        case fault_kind::timed_out:
            return "timed_out";
        case fault_kind::crashed:
            return "crashed";
        case fault_kind::exited:
            return "exited";
        case fault_kind::output_closed:
            return "output_closed";
        case fault_kind::start_failed:
            return "start_failed";
        case fault_kind::skipped:
            return "skipped";
    }
    return "unknown";
}

bool requires_restart(fault_kind kind) noexcept {
    switch (kind) {
        case fault_kind::none:
        case fault_kind::error_response:
        case fault_kind::missing_field:
        case fault_kind::wrong_shape:
        case fault_kind::bad_value:
        case fault_kind::skipped:
            return false;
        default:
            return true;
    }
}

std::string truncate_raw(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return std::string(text);
    std::size_t cut = limit;
    // Step back over UTF-8 continuation bytes so no sequence is split.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;
    return std::string(text.substr(0, cut)) + "...";
}

std::string fault::to_string() const {
    std::string s(xentcheck::check::to_string(kind));
    if (!message.empty()) s += ": " + message;
    if (!raw.empty()) s += " (output: " + raw + ")";
    return s;
}

}  // namespace xentcheck::check
