/// The shared region of the packed form: a memfd mapped by xentcheck and its serve-lib child.
#include "xentcheck/check/shared_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <utility>

namespace xentcheck::check {

shared_region::~shared_region() {
    release();
}

shared_region::shared_region(shared_region&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      populator_(std::move(other.populator_)) {}

shared_region& shared_region::operator=(shared_region&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        populator_ = std::move(other.populator_);
    }
    return *this;
}

void shared_region::stop_populating() noexcept {
    if (populator_.joinable()) populator_.join();
}

void shared_region::release() noexcept {
    stop_populating();
    if (data_ != nullptr) munmap(data_, size_);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    data_ = nullptr;
    size_ = 0;
}

shared_region shared_region::create() noexcept {
    shared_region r;
    const int fd = memfd_create("xentcheck-packed", MFD_CLOEXEC);
    if (fd < 0) return r;
    r.fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return r;
}

shared_region shared_region::attach(int fd) noexcept {
    shared_region r;
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return r;
    r.fd_ = fd;
    return r;
}

bool shared_region::map(std::size_t bytes, bool populate_now) noexcept {
    // Populated ahead of use: a large request's arrays would otherwise fault in page by page,
    // in xentcheck and again in its serve-lib child, after every growth of the region. The
    // creator populates in a thread of its own (tens of ms for a vocabulary-sized case, while
    // the run starts; the pages its first writes reach first are faulted in by them); the
    // child, whose pages then exist already, at once.
    stop_populating();
    const int flags = MAP_SHARED | (populate_now ? MAP_POPULATE : 0);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, fd_, 0);
    if (p == MAP_FAILED) return false;
    if (data_ != nullptr) munmap(data_, size_);
    data_ = static_cast<std::byte*>(p);
    size_ = bytes;
    if (!populate_now) {
        try {
            populator_ = std::thread([p, bytes] { madvise(p, bytes, MADV_POPULATE_WRITE); });
        } catch (const std::system_error&) {  // no thread: the pages fault in when used
        }
    }
    return true;
}

bool shared_region::reserve(std::size_t bytes) noexcept {
    if (fd_ < 0) return false;
    if (bytes <= size_) return true;
    const std::size_t grown = std::max(bytes, size_ + size_ / 2);
    const std::size_t page = 4096;
    const std::size_t rounded = (grown + page - 1) / page * page;
    if (ftruncate(fd_, static_cast<off_t>(rounded)) != 0) return false;
    return map(rounded, false);
}

bool shared_region::map_at_least(std::size_t bytes) noexcept {
    if (fd_ < 0) return false;
    if (bytes <= size_) return true;
    struct stat st {};
    if (fstat(fd_, &st) != 0 || static_cast<std::size_t>(st.st_size) < bytes) return false;
    return map(static_cast<std::size_t>(st.st_size), true);
}

}  // namespace xentcheck::check
