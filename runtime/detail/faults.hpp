// runtime/detail/faults.hpp — the fault-injection seam the reliability tests
// use: GORO_FAULTS makes chosen system calls of the runtime fail as the
// kernel would, so that each failure's handling can be shown (a clear fatal
// error, or a clean recovery) without exhausting the machine.
//
//   GORO_FAULTS=SITE=SKIP[/COUNT][/ERRNO],...
//       let SKIP calls at SITE succeed, then fail the next COUNT (every one
//       after, without COUNT) with ERRNO (a name such as EMFILE; the site's
//       usual error by default). Unknown sites and malformed items are
//       ignored, as GORO_DEBUG's are.
//
// Sites and their default errors:
//   stack_mmap     mapping a slab of fiber stacks        ENOMEM
//   stack_guard    mprotect of a stack's guard page      ENOMEM (vm.max_map_count)
//   thread_create  starting any runtime thread           EAGAIN (RLIMIT_NPROC)
//   epoll_ctl      registering a descriptor with epoll   ENOMEM
//   accept         accept4 on a listener                 EMFILE
//
// Invariants: the settings are read once, at the first call; each site's
// call counter is an atomic; with GORO_FAULTS unset a site costs one load
// of a flag that is false.
#pragma once

namespace goro::detail {

enum class fault_site : int { stack_mmap, stack_guard, thread_create, epoll_ctl, accept, count };

// Whether this call at `site` is to fail; if so *error is the errno to fail
// with (the caller sets errno or reports it as the real call would).
bool inject_fault(fault_site site, int* error) noexcept;

// At a thread_create site: throws what std::thread's constructor throws when
// pthread_create fails (std::system_error with the errno) if this call is to
// fail.
void inject_thread_create_fault();

}  // namespace goro::detail
