/// The buffered output sink and the colour decision.
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

output_sink::~output_sink() {
    try {
        flush();
    } catch (const std::exception&) {
        // A destructor cannot report; run_eval flushes explicitly and reports failures.
    }
}

void output_sink::flush() {
    if (buffer_.size() != 0) {
        const std::size_t written = std::fwrite(buffer_.data(), 1, buffer_.size(), stream_);
        const bool complete = written == buffer_.size();
        buffer_.clear();
        if (!complete) throw std::runtime_error("cannot write the report");
    }
    if (std::fflush(stream_) != 0) throw std::runtime_error("cannot write the report");
}

bool use_color(color_mode mode, std::FILE* stream) {
    if (mode != color_mode::automatic) return mode == color_mode::always;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color && *no_color) return false;
    return ::isatty(::fileno(stream)) == 1;
}

}  // namespace xentcheck::cli
