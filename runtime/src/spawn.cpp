// runtime/src/spawn.cpp — a fiber's birth and death: taking a stack and an
// id, starting it, finishing it, and the panic report of one that threw.
//
// Invariants:
//   - A fiber's control block and callable live at the top of its stack
//     (runtime/detail/stack.hpp); a callable too large for that goes on the
//     heap and is freed at the fiber's exit.
//   - Ids come from scheduler::fiber_id_source in batches per P; a thread
//     holding no P takes them one at a time.
//   - The spawner owns a fiber from prepare_fiber until start_fiber
//     publishes it as runnable; nobody else can see it before.

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>

#include <goro/panic.hpp>
#include <goro/runtime.hpp>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/park.hpp"
#include "runtime/detail/scheduler.hpp"
#include "runtime/detail/signals.hpp"
#include "runtime/detail/traceback.hpp"
#include "runtime/detail/trace.hpp"

namespace goro::detail {

void fiber_main(ctx::transfer_t from) noexcept;  // park.cpp
void yield_fiber(fiber* self) noexcept;
void preemption_point() noexcept;
void main_fiber_returned(scheduler& s) noexcept;  // run.cpp

namespace {

constexpr std::uint64_t fiber_id_batch = 16;
constexpr std::size_t heap_callable_threshold = 16 * 1024;

std::uint64_t take_fiber_id(processor* p, scheduler& s) {
    if (!p) return s.fiber_id_source.fetch_add(1, std::memory_order_relaxed);
    if (p->next_fiber_id == p->fiber_id_limit) {
        p->next_fiber_id = s.fiber_id_source.fetch_add(fiber_id_batch, std::memory_order_relaxed);
        p->fiber_id_limit = p->next_fiber_id + fiber_id_batch;
    }
    return p->next_fiber_id++;
}

// A plain thread's goro::go holds the scheduler from prepare_fiber until
// start_fiber or discard_fiber returns (the spawn is split across the
// template in runtime.hpp).
thread_local plain_thread_scope* plain_spawn_scope = nullptr;

void end_plain_spawn() noexcept {
    delete plain_spawn_scope;
    plain_spawn_scope = nullptr;
}

}  // namespace

fiber* new_fiber(scheduler& s, processor* p, const spawn_options& options, std::size_t size, std::size_t align,
                 const goro::source_location& site, void** storage) {
    fiber* f = s.stacks.get(p ? &p->stacks : nullptr, options.stack_size);
    f->id.store(take_fiber_id(p, s), std::memory_order_relaxed);
    f->site_file.store(site.file_name(), std::memory_order_relaxed);
    f->site_function.store(site.function_name(), std::memory_order_relaxed);
    f->site_line.store(site.line(), std::memory_order_relaxed);
    f->name.store(options.name, std::memory_order_relaxed);
    f->exceptions = {};
    f->saved_errno = 0;
    f->asan_fake_stack = nullptr;
    if (align < 16) align = 16;
    if (size > heap_callable_threshold || size + align + 256 > f->stack_size / 4) {
        f->callable = ::operator new(size, std::align_val_t{align});
        f->callable_align = static_cast<std::uint32_t>(align);
        f->callable_on_heap = true;
    } else {
        auto top = reinterpret_cast<std::uintptr_t>(f);
        f->callable = reinterpret_cast<void*>((top - size) & ~(static_cast<std::uintptr_t>(align) - 1));
        f->callable_on_heap = false;
    }
    *storage = f->callable;
    return f;
}

prepared_fiber prepare_fiber(const spawn_options& options, std::size_t size, std::size_t align,
                             const goro::source_location& site) {
    runtime_entry entry;
    scheduler* s = nullptr;
    if (entry.m) {
        s = &entry.m->sched;
    } else {
        auto scope = std::make_unique<plain_thread_scope>();
        if (!scope->sched) throw panic_error("goro::go: no runtime is running (call it inside goro::run)");
        s = scope->sched;
        plain_spawn_scope = scope.release();
    }
    void* storage = nullptr;
    fiber* f = new_fiber(*s, entry.p, options, size, align, site, &storage);
    return {f, storage};
}

void discard_fiber(fiber* f) noexcept {
    runtime_entry entry;
    scheduler* s = entry.m ? &entry.m->sched : plain_spawn_scope->sched;
    if (f->callable_on_heap) ::operator delete(f->callable, std::align_val_t{f->callable_align});
    f->callable_on_heap = false;
    f->callable = nullptr;
    s->stacks.put(entry.p ? &entry.p->stacks : nullptr, f);
    if (!entry.m) end_plain_spawn();
}

void prime_fiber(fiber* f, void (*run_and_destroy)(void*)) noexcept {
    f->run_and_destroy = run_and_destroy;
    char* top = f->callable_on_heap ? reinterpret_cast<char*>(f) : static_cast<char*>(f->callable);
    top = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(top) & ~std::uintptr_t{15});
    f->context = ctx::make_fcontext(top, static_cast<std::size_t>(top - f->stack_low), &fiber_main);
    if (!f->tsan_fiber) f->tsan_fiber = tsan_create_fiber();
    f->waiting_since_ns.store(0, std::memory_order_relaxed);
    f->state.store(fiber_state::runnable, std::memory_order_release);
}

void start_fiber(fiber* f, void (*run_and_destroy)(void*)) noexcept {
    prime_fiber(f, run_and_destroy);
    bool overflowed = false;
    bool on_machine = false;
    {
        runtime_entry entry;
        on_machine = entry.m != nullptr;
        scheduler* s = entry.m ? &entry.m->sched : plain_spawn_scope->sched;
        if (entry.p)
            processor::count(entry.p->fibers_started);
        else
            s->fibers_started_without_p.fetch_add(1, std::memory_order_relaxed);
        if (trace_on()) [[unlikely]] trace_spawn(f);
        overflowed = make_runnable(f, true);
    }
    if (!on_machine) {
        end_plain_spawn();
        return;
    }
    fiber* self = current_fiber();
    if (!self) return;  // spawned from the scheduler stack (a timer's after_func)
    if (overflowed) {
        // The spawner is outrunning the Ms: its queue overflowed. Let the
        // queued fibers run before spawning more, so a loop that spawns a
        // million fibers does not need a million stacks at once.
        yield_fiber(self);
        return;
    }
    preemption_point();  // `go` is a goro call: a long runner yields here
}

void finish_fiber(machine& m, fiber* f) noexcept {
    scheduler& s = m.sched;
    // The TSan context stays with the stack for the next fiber (creating one
    // costs about half a millisecond); run's end destroys them all.
    // ASan still has the redzones of the frames that never returned
    // (fiber_main's) poisoned: clear them before the stack is reused.
    asan_unpoison(f->stack_low, f->stack_size);
    f->asan_fake_stack = nullptr;
    f->state.store(fiber_state::dead, std::memory_order_release);
    f->reason.store(wait_reason::none, std::memory_order_relaxed);
    if (m.p)
        processor::count(m.p->fibers_exited);
    else
        s.fibers_exited_without_p.fetch_add(1, std::memory_order_relaxed);
    const bool was_main = f == s.main_fiber;
    if (f->callable_on_heap) {
        ::operator delete(f->callable, std::align_val_t{f->callable_align});
        f->callable_on_heap = false;
    }
    f->callable = nullptr;
    free_throw_record(f);
    s.stacks.put(m.p ? &m.p->stacks : nullptr, f);
    if (was_main) main_fiber_returned(s);
}

[[noreturn]] void report_panic(fiber* f) noexcept {
    std::string what = "unknown exception";
    // The object thrown, as __cxa_throw saw it: libstdc++'s exception_ptr
    // holds exactly that pointer.
    const void* thrown_object = nullptr;
    {
        static_assert(sizeof(std::exception_ptr) == sizeof(void*));
        std::exception_ptr current = std::current_exception();
        std::memcpy(&thrown_object, static_cast<const void*>(&current), sizeof thrown_object);
    }
    try {
        throw;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        if (const std::type_info* t = abi::__cxa_current_exception_type()) {
            int status = 0;
            char* name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
            what = std::string("exception of type ") + (status == 0 && name ? name : t->name());
            std::free(name);
        }
    }
    claim_fatal_report();
    std::fflush(nullptr);
    std::string text = "panic: " + what + "\n\n";
    write_stderr(text.c_str());
    dump_panicking_fiber_to_fd(2, f, throw_site_of(f, thrown_object));
    _exit(2);
}

}  // namespace goro::detail
