/// Test support: running the built xentcheck (files or a pseudo-terminal), paths, ulps.
#include "cli_test_support.h"

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "xentcheck/cli/json_numbers.h"

namespace xentcheck::cli::testing {

namespace {

std::string read_all(int fd) {
    std::string s;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            s.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;  // EOF, or EIO once a pseudo-terminal's child has exited
        }
    }
    return s;
}

[[noreturn]] void exec_child(const std::vector<std::string>& args,
                             const std::vector<env_change>& env) {
    if (::chdir(XENTCHECK_SOURCE_DIR) != 0) ::_exit(126);
    for (const auto& [name, value] : env) {
        if (value) {
            ::setenv(name.c_str(), value->c_str(), 1);
        } else {
            ::unsetenv(name.c_str());
        }
    }
    std::vector<char*> argv;
    std::string exe = XENTCHECK_EXE;
    argv.push_back(exe.data());
    std::vector<std::string> copies(args);
    for (auto& a : copies)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

int temp_file(std::string& path) {
    std::string pattern = ::testing::TempDir() + "xentcheck_cli_XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    path = name.data();
    return fd;
}

}  // namespace

run_result run_xentcheck(const std::vector<std::string>& args, const std::vector<env_change>& env,
                         bool terminal) {
    run_result r;
    if (terminal) {
        int master = -1;
        const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
        if (pid < 0) throw std::runtime_error("forkpty failed");
        if (pid == 0) exec_child(args, env);
        r.out = read_all(master);
        ::close(master);
        int status = 0;
        ::waitpid(pid, &status, 0);
        r.exit_code = decode_status(status);
        return r;
    }
    std::string out_path, err_path;
    const int out_fd = temp_file(out_path);
    const int err_fd = temp_file(err_path);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        exec_child(args, env);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_code = decode_status(status);
    ::lseek(out_fd, 0, SEEK_SET);
    ::lseek(err_fd, 0, SEEK_SET);
    r.out = read_all(out_fd);
    r.err = read_all(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    std::remove(out_path.c_str());
    std::remove(err_path.c_str());
    return r;
}

std::string source_path(const std::string& relative) {
    return std::string(XENTCHECK_SOURCE_DIR) + "/" + relative;
}

nlohmann::json parse_report(const std::string& text) {
    return nlohmann::json::parse(text);
}

double report_number(const nlohmann::json& v) {
    const auto x = json_to_double(v);
    if (!x) throw std::runtime_error("not a number in the report: " + v.dump());
    return *x;
}

std::uint64_t ulp_distance(double a, double b) {
    if (a == b) return 0;
    if (std::isnan(a) || std::isnan(b)) return UINT64_MAX;
    // Map the bit patterns to a monotonic integer line: negative doubles below positive ones.
    const auto ordered = [](double x) {
        std::int64_t i;
        std::memcpy(&i, &x, sizeof i);
        return i < 0 ? INT64_MIN - i : i;
    };
    const std::int64_t ia = ordered(a), ib = ordered(b);
    return ia > ib ? static_cast<std::uint64_t>(ia) - static_cast<std::uint64_t>(ib)
                   : static_cast<std::uint64_t>(ib) - static_cast<std::uint64_t>(ia);
}

std::vector<nlohmann::json> entries_of(const nlohmann::json& report, const std::string& file) {
    std::vector<nlohmann::json> out;
    for (const auto& c : report.at("cases")) {
        if (c.at("file") == file) out.push_back(c);
    }
    return out;
}

std::string mutate_with(std::string text, const std::vector<std::string>& pieces,
                        std::mt19937_64& rng) {
    const int edits = 1 + static_cast<int>(rng() % 2);
    for (int k = 0; k < edits && !text.empty(); ++k) {
        const std::size_t at = rng() % text.size();
        const std::string& piece = pieces[rng() % pieces.size()];
        switch (rng() % 3) {
            case 0:
                text.replace(at, 1 + rng() % 3, piece);
                break;
            case 1:
                text.insert(at, piece);
                break;
            default:
                text.erase(at, 1 + rng() % 3);
        }
    }
    return text;
}

}  // namespace xentcheck::cli::testing
