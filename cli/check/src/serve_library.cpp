/// serve-lib: a shared library implementing xentcheck_abi.h, spoken to through the protocol.
#include "xentcheck/check/serve_library.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "xentcheck/check/packed_protocol.h"
#include "xentcheck/check/protocol.h"
#include "xentcheck/check/subprocess.h"
#include "xentcheck_abi.h"

namespace xentcheck::check {

namespace {

void say(const std::string& message) {
    const std::string line = "xentcheck serve-lib: " + message + "\n";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

/// The entry points of a loaded library.
struct library_api {
    xentcheck_abi_version_fn version = nullptr;
    xentcheck_cross_entropy_f32_fn f32 = nullptr;
    xentcheck_cross_entropy_f64_fn f64 = nullptr;
};

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::vector<float> narrow(const double* values, std::size_t count) {
    return count == 0 ? std::vector<float>{} : std::vector<float>(values, values + count);
}

/// Where a request's answer is written: N x C probs, the loss values and N x C grad.
struct answer_memory {
    double* probs;
    double* loss;
    double* grad;
};

/// A request's input arrays: in its vectors, or in place in the shared region.
struct input_arrays {
    const double* logits;
    const std::int64_t* target_indices;  // index targets
    const double* target_probs;          // probability targets
    const double* weight;                // or null: no weights

    /// The arrays of `r`, those named by `in_place` taken from `region` (mapped that far).
    static input_arrays of(const request& r, const packed_in_place& in_place,
                           const std::byte* region) {
        const auto at = [&](const std::optional<std::size_t>& offset, const auto* own) {
            using T = std::remove_cv_t<std::remove_pointer_t<decltype(own)>>;
            return offset ? reinterpret_cast<const T*>(region + *offset) : own;
        };
        const bool index = r.target_form == target_view::kind::index;
        input_arrays a{at(in_place.logits, r.logits.data()),
                       index ? at(in_place.target, r.target_indices.data()) : nullptr,
                       index ? nullptr : at(in_place.target, r.target_probs.data()),
                       at(in_place.weight, r.weight.data())};
        if (!in_place.weight && r.weight.empty()) a.weight = nullptr;
        return a;
    }
};

/// Runs one request through the library, writing its answer to `into`; returns "" or the
/// error text.
std::string call_library(const library_api& api, const request& r, const input_arrays& in,
                         const answer_memory& into) {
    const std::size_t n = r.rows * r.classes;
    const bool index = r.target_form == target_view::kind::index;
    // Outputs start as NaN: an entry the library leaves unwritten shows up as a wrong value.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::fill_n(into.probs, n, nan);
    std::fill_n(into.grad, n, nan);
    std::fill_n(into.loss, r.loss_count(), nan);
    char error[1024] = {0};
    int rc = 0;
    const auto rows = static_cast<int64_t>(r.rows), classes = static_cast<int64_t>(r.classes);
    const int64_t ignore = r.ignore_index.value_or(-100);
    const double smoothing = r.label_smoothing.value_or(0.0);
    const auto reduction =
        static_cast<int32_t>(r.reduction == reduction::none   ? XENTCHECK_REDUCTION_NONE
                             : r.reduction == reduction::mean ? XENTCHECK_REDUCTION_MEAN
                                                              : XENTCHECK_REDUCTION_SUM);
    const int32_t kind = index ? XENTCHECK_TARGET_INDEX : XENTCHECK_TARGET_PROBS;
    if (r.dtype == dtype::float64) {
        const xentcheck_problem_f64 p{
            rows,      classes, in.logits, kind,     in.target_indices, in.target_probs,
            in.weight, ignore,  smoothing, reduction};
        const xentcheck_outputs_f64 out{into.probs, into.loss, into.grad};
        rc = api.f64(&p, &out, error, sizeof error);
    } else {
        const std::vector<float> logits = narrow(in.logits, n),
                                 probs = narrow(in.target_probs, index ? 0 : n),
                                 weight = narrow(in.weight, in.weight ? r.classes : 0);
        std::vector<float> o_probs(n, NAN), o_grad(n, NAN), o_loss(r.loss_count(), NAN);
        const xentcheck_problem_f32 p{rows,
                                      classes,
                                      logits.data(),
                                      kind,
                                      in.target_indices,
                                      index ? nullptr : probs.data(),
                                      weight.empty() ? nullptr : weight.data(),
                                      ignore,
                                      smoothing,
                                      reduction};
        const xentcheck_outputs_f32 out{o_probs.data(), o_loss.data(), o_grad.data()};
        rc = api.f32(&p, &out, error, sizeof error);
        std::copy(o_probs.begin(), o_probs.end(), into.probs);
        std::copy(o_grad.begin(), o_grad.end(), into.grad);
        std::copy(o_loss.begin(), o_loss.end(), into.loss);
    }
    if (rc == 0) return "";
    error[sizeof error - 1] = '\0';
    return error[0] != '\0' ? std::string(error)
                            : "the library returned " + std::to_string(rc) + " without a message";
}

/// Answers one decoded request into `out`: in place in the shared region when the request set
/// room aside there (the library writes its outputs straight into it), else through `values`.
void answer(const library_api& api, const decoded_request& d, const packed_in_place& in_place,
            bool packed, shared_region* shared, std::optional<std::size_t> answer_at,
            response_values& values, std::string& out) {
    const request& r = d.value;
    const response_shape shape = response_shape::of(r);
    const packed_answer_layout layout = packed_answer_layout::of(shape, answer_at.value_or(0));
    if (packed && shared != nullptr && answer_at && shared->map_at_least(layout.end)) {
        // Mapped as far as the answer reaches (which may have moved the mapping): the inputs
        // are located afresh from their offsets.
        std::byte* base = shared->data();
        const answer_memory in_region{reinterpret_cast<double*>(base + layout.probs),
                                      reinterpret_cast<double*>(base + layout.loss),
                                      reinterpret_cast<double*>(base + layout.grad)};
        const input_arrays in = input_arrays::of(r, in_place, base);
        if (std::string error = call_library(api, r, in, in_region); !error.empty()) {
            encode_error_response(d.id, error, out);
        } else {
            encode_packed_response_in_place(*d.id, shape, layout, out);
        }
        return;
    }
    values.probs.resize(r.rows * r.classes);
    values.grad.resize(r.rows * r.classes);
    values.loss.resize(r.loss_count());
    const input_arrays in =
        input_arrays::of(r, in_place, shared != nullptr ? shared->data() : nullptr);
    if (std::string error =
            call_library(api, r, in, {values.probs.data(), values.loss.data(), values.grad.data()});
        !error.empty()) {
        encode_error_response(d.id, error, out);
    } else if (packed) {
        encode_packed_response(*d.id, values, shape, out);
    } else {
        encode_response(*d.id, values, shape, out);
    }
}

/// dlopen's argument: a bare file name that exists here means this file, not a search.
std::string load_path(const char* path) {
    std::string p(path);
    struct stat st {};
    if (p.find('/') == std::string::npos && stat(p.c_str(), &st) == 0) p = "./" + p;
    return p;
}

}  // namespace

int serve_library(const char* path, int region_fd) {
    // The protocol stream gets a private descriptor; fd 1 becomes stderr, so printf debugging
    // in the library (or its constructors) cannot corrupt the responses.
    // Likewise the requests: fd 0 becomes /dev/null, so a library reading stdin cannot steal them.
    std::signal(SIGPIPE, SIG_IGN);
    std::fflush(stdout);
    const int out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    const int in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || in_fd < 0 || null_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0 ||
        dup2(null_fd, STDIN_FILENO) < 0) {
        say("cannot set up stdin and stdout");
        return 1;
    }
    close(null_fd);
    void* handle = dlopen(load_path(path).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        say(std::string("cannot load ") + path + ": " + (why ? why : "unknown error"));
        return 2;
    }
    library_api api;
    std::string missing;
    const auto find = [&](const char* name) {
        void* sym = dlsym(handle, name);
        if (sym == nullptr) missing += missing.empty() ? name : std::string(", ") + name;
        return sym;
    };
    api.version = reinterpret_cast<xentcheck_abi_version_fn>(find("xentcheck_abi_version"));
    api.f32 = reinterpret_cast<xentcheck_cross_entropy_f32_fn>(find("xentcheck_cross_entropy_f32"));
    api.f64 = reinterpret_cast<xentcheck_cross_entropy_f64_fn>(find("xentcheck_cross_entropy_f64"));
    if (!missing.empty()) {
        say(std::string(path) + " does not export the xentcheck ABI: missing " + missing +
            " (see docs/abi.md; declare them with xentcheck_abi.h)");
        return 2;
    }
    if (const int v = api.version(); v != XENTCHECK_ABI_VERSION) {
        say(std::string(path) + " implements xentcheck ABI version " + std::to_string(v) +
            "; this xentcheck speaks version " + std::to_string(XENTCHECK_ABI_VERSION));
        return 2;
    }
    shared_region region = shared_region::attach(region_fd);
    shared_region* const shared = region.valid() ? &region : nullptr;
    std::string buffer, out;
    response_values values;
    // buffer[start, size) is unread: requests are taken from the front without moving the rest
    // (a pipelined batch of large requests would otherwise be moved once per request).
    std::size_t start = 0, scanned = 0;
    bool eof = false;
    while (true) {
        const std::size_t nl = buffer.find('\n', scanned);
        if (nl == std::string::npos && !eof) {
            scanned = buffer.size();
            char chunk[1 << 16];
            const ssize_t n = read(in_fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                say("cannot read stdin");
                return 1;
            }
            if (n == 0) eof = true;
            if (start > 0 && start >= buffer.size() / 2) {  // compact: move the unread part once
                buffer.erase(0, start);
                scanned -= start;
                start = 0;
            }
            buffer.append(chunk, static_cast<std::size_t>(n));
            continue;
        }
        if (nl == std::string::npos && start == buffer.size()) return 0;  // end of input
        const std::size_t end = nl == std::string::npos ? buffer.size() : nl;
        const std::string_view line(buffer.data() + start, end - start);
        out.clear();
        // A packed request comes from xentcheck itself and is answered in kind.
        const bool packed = is_packed_request(line);
        std::optional<std::size_t> answer_at;
        packed_in_place in_place;  // the library reads the region's arrays where they are
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            // blank line: nothing to answer
        } else if (decoded_request d =
                       packed ? decode_packed_request(line, shared, &answer_at, &in_place)
                              : decode_request(line);
                   !d.error.empty()) {
            encode_error_response(d.id, "bad request: " + d.error, out);
        } else {
            answer(api, d, in_place, packed, shared, answer_at, values, out);
        }
        start = scanned = nl == std::string::npos ? buffer.size() : nl + 1;
        if (!out.empty() && !write_all(out_fd, out)) {
            say("cannot write the response (the client is gone)");
            return 1;
        }
    }
}

std::string shell_quote(std::string_view text) {
    std::string q = "'";
    for (const char c : text) {
        if (c == '\'') {
            q += "'\\''";
        } else {
            q += c;
        }
    }
    return q + "'";
}

std::string serve_library_command(std::string_view executable, std::string_view library,
                                  std::string_view subcommand, bool shared_region) {
    const std::string region =
        shared_region ? "--region-fd " + std::to_string(subprocess::passed_descriptor) + " " : "";
    return "exec " + shell_quote(executable) + " " + shell_quote(subcommand) + " " + region +
           shell_quote(library);
}

std::string current_executable_path() {
    std::string path(4096, '\0');
    const ssize_t n = readlink("/proc/self/exe", path.data(), path.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= path.size()) return "";
    path.resize(static_cast<std::size_t>(n));
    return path;
}

}  // namespace xentcheck::check
