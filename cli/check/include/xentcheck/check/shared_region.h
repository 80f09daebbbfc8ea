/// xentcheck/check/shared_region.h: memory shared by xentcheck and its serve-lib child, where
/// the packed form puts large arrays instead of the pipe.
#pragma once

#include <cstddef>
#include <thread>

namespace xentcheck::check {

/// A growable region of shared memory backed by an anonymous memory file (memfd). The creator
/// (xentcheck) grows it; the child that inherited its descriptor maps as much as it needs.
/// Both sides map the same pages, so an array written by one is read by the other without a
/// copy through the pipe. The region carries no synchronization: the line protocol orders the
/// accesses (a request's arrays are written before its line is sent, read after it arrives).
/// Not thread-safe.
class shared_region {
  public:
    /// No region (valid() is false).
    shared_region() = default;
    /// Unmaps the region and closes the descriptor.
    ~shared_region();
    shared_region(const shared_region&) = delete;
    shared_region& operator=(const shared_region&) = delete;
    /// Moves the region.
    shared_region(shared_region&& other) noexcept;
    /// Moves the region.
    shared_region& operator=(shared_region&& other) noexcept;

    /// A new, empty region whose descriptor is close-on-exec and at least 10 (so it never
    /// collides with the descriptors a child is given). Returns an invalid region when the
    /// system has no memfd (the caller then uses the pipe).
    static shared_region create() noexcept;
    /// The region behind an inherited descriptor (taken over: closed by the destructor);
    /// nothing is mapped until map_at_least(). Invalid when `fd` is not a memory file.
    static shared_region attach(int fd) noexcept;

    /// Whether there is a region.
    bool valid() const noexcept { return fd_ >= 0; }
    /// Its descriptor (-1 when invalid).
    int fd() const noexcept { return fd_; }
    /// Start of the mapping (nullptr before the first map).
    std::byte* data() const noexcept { return data_; }
    /// Bytes mapped.
    std::size_t size() const noexcept { return size_; }

    /// Creator side: makes the region at least `bytes` long (growing it by at least half),
    /// and maps all of it, its pages populated by a thread of its own meanwhile. False when the
    /// memory cannot be had (the caller then uses the pipe).
    bool reserve(std::size_t bytes) noexcept;
    /// Child side: maps the whole region if fewer than `bytes` are mapped now. False when the
    /// region is shorter than `bytes` or cannot be mapped.
    bool map_at_least(std::size_t bytes) noexcept;

  private:
    bool map(std::size_t bytes, bool populate_now) noexcept;
    void release() noexcept;
    void stop_populating() noexcept;

    int fd_ = -1;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::thread populator_;  ///< the creator's mapping being populated (joined before unmapping)
};

}  // namespace xentcheck::check
