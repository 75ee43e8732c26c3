// goro/rw_mutex.hpp — sync.RWMutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>  // std::shared_lock works with goro::rw_mutex

#include <goro/mutex.hpp>

namespace goro {

// A reader/writer lock: any number of readers or one writer. A writer that is
// waiting keeps new readers out, so writers are not starved (Go's rule).
// Meets SharedLockable (std::shared_lock) as well as Lockable.
class rw_mutex {
public:
    rw_mutex() = default;
    rw_mutex(const rw_mutex&) = delete;
    rw_mutex& operator=(const rw_mutex&) = delete;

    void lock();
    bool try_lock();
    void unlock();
    void lock_shared();
    bool try_lock_shared();
    void unlock_shared();

private:
    mutex writer_;                          // held by a pending or active writer
    std::uint32_t writer_sema_ = 0;         // a writer waits here for departing readers
    std::uint32_t reader_sema_ = 0;         // readers wait here for the writer
    std::atomic<std::int32_t> reader_count_{0};  // negative while a writer is pending
    std::atomic<std::int32_t> reader_wait_{0};   // departing readers the writer waits for
};

}  // namespace goro
