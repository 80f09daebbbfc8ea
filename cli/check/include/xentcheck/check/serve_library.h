/// xentcheck/check/serve_library.h: a shared library behind the JSON-lines protocol.
#pragma once

#include <string>
#include <string_view>

namespace xentcheck::check {

/// The serving mode behind `xentcheck check --lib PATH`: loads the library at `path`
/// (dlopen, RTLD_NOW), checks that it exports xentcheck_abi_version, xentcheck_cross_entropy_f32
/// and xentcheck_cross_entropy_f64 and reports ABI version 1, then answers protocol requests
/// read from stdin on stdout until stdin ends. The protocol streams move to private
/// descriptors: the library's own writes to stdout go to stderr and its reads of stdin see
/// /dev/null, so it can neither corrupt nor consume the protocol. A crash inside the library ends
/// this process only; the client classifies it. Returns the exit code: 0 at the end of input, 2
/// when the library cannot be loaded, lacks symbols (all missing ones are named on stderr) or has
/// another ABI version, 1 on an I/O error. `region_fd` >= 0 names an inherited shared region
/// (process_client's shared_region option): packed requests may then name their arrays in it,
/// and are answered there.
int serve_library(const char* path, int region_fd = -1);

/// The /bin/sh command line that runs `executable subcommand library` (each word quoted), for
/// a process_client; with `shared_region`, `--region-fd 3` is added (the client passes its region
/// as descriptor 3).
std::string serve_library_command(std::string_view executable, std::string_view library,
                                  std::string_view subcommand = "serve-lib",
                                  bool shared_region = false);

/// The absolute path of the running executable (from /proc/self/exe), or "" when unknown.
std::string current_executable_path();

/// `text` as one /bin/sh word: single-quoted, with embedded quotes as '\''.
std::string shell_quote(std::string_view text);

}  // namespace xentcheck::check
