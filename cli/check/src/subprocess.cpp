/// The subprocess driver: posix_spawn of /bin/sh -c, non-blocking pipes, poll deadlines.
#include "xentcheck/check/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

extern char** environ;

namespace xentcheck::check {

namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// Moves `fd` to a descriptor >= 3 (close-on-exec) so dup2 onto 0/1 in the child always
/// clears the flag.
int above_stdio(int fd) {
    if (fd > 2) return fd;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int err = errno;
    close(fd);
    if (moved < 0) throw_errno(err, "fcntl(F_DUPFD_CLOEXEC)");
    return moved;
}

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl");
}

/// write(2) that reports a reader gone as EPIPE (in `err`) instead of killing the process.
/// With SIGPIPE ignored (`sigpipe_ignored`, as `xentcheck check` has it) that is a plain write;
/// otherwise SIGPIPE is blocked for this thread around it, and a SIGPIPE raised by this write is
/// consumed before the mask is restored (three more system calls).
ssize_t write_to_child(int fd, const char* data, std::size_t size, bool sigpipe_ignored, int& err) {
    if (sigpipe_ignored) {
        const ssize_t n = write(fd, data, size);
        err = errno;
        return n;
    }
    sigset_t pipe_set, old_mask, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    const ssize_t n = write(fd, data, size);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        const timespec zero{};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return n;
}

/// Milliseconds from now until `deadline`, rounded up, at least 0 (for poll).
int poll_timeout(subprocess::clock::time_point deadline) {
    const auto left = deadline - subprocess::clock::now();
    if (left <= subprocess::clock::duration::zero()) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, 1 << 30));
}

exit_status decode_wait_status(int st) {
    exit_status s;
    if (WIFSIGNALED(st)) {
        s.how = exit_status::state::signaled;
        s.code = WTERMSIG(st);
    } else {
        s.how = exit_status::state::exited;
        s.code = WEXITSTATUS(st);
    }
    return s;
}

}  // namespace

std::string exit_status::to_string() const {
    switch (how) {
        case state::running:
            return "running";
        case state::exited:
            return "exited with status " + std::to_string(code);
        case state::signaled: {
            std::string s = "killed by signal " + std::to_string(code);
            if (const char* abbrev = sigabbrev_np(code)) s += std::string(" (SIG") + abbrev + ")";
            return s;
        }
    }
    return "unknown";
}

subprocess::subprocess(std::string command, std::size_t max_line_bytes)
    : command_(std::move(command)), max_line_bytes_(max_line_bytes) {}

subprocess::~subprocess() {
    kill();
}

void subprocess::close_pipes() noexcept {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdin_fd_ = stdout_fd_ = -1;
}

void subprocess::start() {
    kill();
    consumed_ = filled_ = 0;
    stdout_eof_ = false;
    struct sigaction pipe_action {};
    sigpipe_ignored_ =
        sigaction(SIGPIPE, nullptr, &pipe_action) == 0 && pipe_action.sa_handler == SIG_IGN;
    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) < 0) throw_errno(errno, "pipe2");
    if (pipe2(out_pipe, O_CLOEXEC) < 0) {
        const int err = errno;
        close(in_pipe[0]);
        close(in_pipe[1]);
        throw_errno(err, "pipe2");
    }
    int child_in = -1, child_out = -1;
    try {
        child_in = above_stdio(in_pipe[0]);
        in_pipe[0] = -1;
        child_out = above_stdio(out_pipe[1]);
        out_pipe[1] = -1;
        stdin_fd_ = in_pipe[1];
        stdout_fd_ = out_pipe[0];
        in_pipe[1] = out_pipe[0] = -1;
        set_nonblocking(stdin_fd_);
        set_nonblocking(stdout_fd_);
    } catch (...) {
        for (const int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], child_in, child_out})
            if (fd >= 0) close(fd);
        close_pipes();
        throw;
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_in, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_out, STDOUT_FILENO);
    // Last, so that a pipe end that happened to be that descriptor was already duplicated.
    if (passed_fd_ > 2) {
        posix_spawn_file_actions_adddup2(&actions, passed_fd_, passed_descriptor);
    }
    posix_spawnattr_init(&attr);
    // Own process group (so a hang can be killed with all its children), no inherited blocked
    // signals, and default dispositions (an ignored SIGPIPE would otherwise survive exec).
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    char sh[] = "sh", dash_c[] = "-c";
    char* argv[] = {sh, dash_c, command_.data(), nullptr};
    pid_t pid = -1;
    const int err = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(child_in);
    close(child_out);
    if (err != 0) {
        close_pipes();
        throw_errno(err, "posix_spawn /bin/sh");
    }
    pid_ = pid;
    status_ = exit_status{};
}

std::string_view subprocess::pending_output() const noexcept {
    return std::string_view(buffer_.data() + consumed_, filled_ - consumed_);
}

bool subprocess::fill_buffer(bool& eof) {
    if (consumed_ > 0 && consumed_ * 2 >= filled_) {
        std::memmove(buffer_.data(), buffer_.data() + consumed_, filled_ - consumed_);
        filled_ -= consumed_;
        consumed_ = 0;
    }
    constexpr std::size_t chunk = 1 << 16;
    if (buffer_.size() - filled_ < chunk) buffer_.resize(filled_ + chunk);
    ssize_t n;
    do {
        n = read(stdout_fd_, buffer_.data() + filled_, buffer_.size() - filled_);
    } while (n < 0 && errno == EINTR);
    filled_ += static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) eof = true;
    return n > 0;
}

io_result subprocess::read_line(std::string& line, clock::time_point deadline) {
    line.clear();
    std::size_t scanned = consumed_;
    while (true) {
        const std::size_t nl = std::string_view(buffer_.data(), filled_).find('\n', scanned);
        if (nl != std::string_view::npos) {
            line.assign(buffer_, consumed_, nl - consumed_);
            consumed_ = nl + 1;
            return io_result::ok;
        }
        scanned = filled_;
        const std::size_t pending = filled_ - consumed_;
        if (pending > max_line_bytes_ || (stdout_eof_ && pending > 0)) {
            line.assign(buffer_, consumed_, pending);
            consumed_ = filled_ = scanned = 0;
            return stdout_eof_ ? io_result::partial_line : io_result::too_long;
        }
        if (stdout_eof_ || stdout_fd_ < 0) return io_result::eof;
        pollfd p{stdout_fd_, POLLIN, 0};
        const int r = poll(&p, 1, poll_timeout(deadline));
        if (r < 0 && errno != EINTR) throw_errno(errno, "poll");
        if (r > 0) {
            const std::size_t before_compaction = consumed_;
            fill_buffer(stdout_eof_);
            scanned -= std::min(scanned, before_compaction - consumed_);
        } else if (clock::now() >= deadline) {
            return io_result::timed_out;
        }
    }
}

io_result subprocess::write_all(std::string_view data, std::chrono::milliseconds idle_timeout) {
    auto idle_deadline = clock::now() + idle_timeout;
    std::size_t written = 0;
    while (written < data.size()) {
        if (stdin_fd_ < 0) return io_result::broken_pipe;
        int err = 0;
        const ssize_t n = write_to_child(stdin_fd_, data.data() + written, data.size() - written,
                                         sigpipe_ignored_, err);
        if (n > 0) {
            written += static_cast<std::size_t>(n);
            idle_deadline = clock::now() + idle_timeout;
            continue;
        }
        if (n < 0 && err == EPIPE) return io_result::broken_pipe;
        if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
            throw_errno(err, "write to the implementation's stdin");
        }
        // The pipe is full: wait for room, draining the child's answers meanwhile.
        pollfd p[2] = {{stdin_fd_, POLLOUT, 0}, {stdout_fd_, POLLIN, 0}};
        const bool drain =
            !stdout_eof_ && stdout_fd_ >= 0 && filled_ - consumed_ <= max_line_bytes_;
        const int r = poll(p, drain ? 2 : 1, poll_timeout(idle_deadline));
        if (r < 0 && errno != EINTR) throw_errno(errno, "poll");
        if (r == 0 && clock::now() >= idle_deadline) return io_result::timed_out;
        if (drain && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            if (fill_buffer(stdout_eof_)) idle_deadline = clock::now() + idle_timeout;
        }
        if ((p[0].revents & POLLERR) != 0) return io_result::broken_pipe;
    }
    return io_result::ok;
}

void subprocess::close_stdin() noexcept {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
}

exit_status subprocess::wait_for_exit(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    auto nap = std::chrono::microseconds(200);
    while (pid_ > 0) {
        int st = 0;
        const pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = decode_wait_status(st);
            // Members of its group that outlive the shell (background jobs, a child the shell
            // did not exec) would hold the pipes open: they go with it. The group id cannot be
            // reused while any member exists, so this cannot hit an unrelated process.
            ::kill(-pid_, SIGKILL);
            pid_ = -1;
            break;
        }
        if (r < 0 && errno != EINTR) {  // not our child any more (should not happen)
            pid_ = -1;
            break;
        }
        const auto now = clock::now();
        if (now >= deadline) break;
        std::this_thread::sleep_for(std::min<clock::duration>(nap, deadline - now));
        nap = std::min(nap * 2, std::chrono::microseconds(20000));
    }
    return status_;
}

exit_status subprocess::kill() {
    if (pid_ > 0) {
        // The group id is the child's pid (POSIX_SPAWN_SETPGROUP with 0). Its members die with
        // it; grandchildren are not ours to reap.
        ::kill(-pid_, SIGKILL);
        int st = 0;
        pid_t r;
        do {
            r = waitpid(pid_, &st, 0);
        } while (r < 0 && errno == EINTR);
        if (r == pid_) status_ = decode_wait_status(st);
        pid_ = -1;
    }
    close_pipes();
    return status_;
}

exit_status subprocess::stop(std::chrono::milliseconds grace) {
    close_stdin();
    wait_for_exit(grace);
    return kill();
}

}  // namespace xentcheck::check
