// runtime/src/traceback.cpp — capturing and symbolising call stacks: the
// running stack (libgcc's unwinder), a parked fiber's stack from its saved
// fcontext (libdw), a fiber running on another thread (a signal to that
// thread), and the stack of every throw on a fiber (__cxa_throw).
// Invariants: see runtime/detail/traceback.hpp. symboliser_lock guards the
// one Dwfl session, its attached thread callbacks and `parked_job`;
// capture_lock makes capture_running one request at a time.

#include "runtime/detail/traceback.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <typeinfo>

#include "runtime/detail/fatal.hpp"
#include "runtime/detail/futex.hpp"
#include "runtime/detail/scheduler.hpp"

namespace goro::detail {

struct throw_record {
    const void* thrown_object = nullptr;
    traceback frames;
};

namespace {

constexpr int traceback_capacity = traceback_max_frames + 8;

// ---------------------------------------------------------- the running stack

struct unwind_walk {
    traceback* out;
    std::uintptr_t start_at_pc;  // nonzero: skip frames until this pc (a signal's)
};

_Unwind_Reason_Code collect_frame(_Unwind_Context* context, void* arg) {
    auto* walk = static_cast<unwind_walk*>(arg);
    const auto pc = static_cast<std::uintptr_t>(_Unwind_GetIP(context));
    if (pc == 0) return _URC_END_OF_STACK;
    if (walk->start_at_pc) {
        if (pc != walk->start_at_pc) return _URC_NO_REASON;  // the handler's own frames
        walk->start_at_pc = 0;
    }
    traceback& out = *walk->out;
    if (out.count == traceback_capacity) {
        out.truncated = true;
        return _URC_END_OF_STACK;
    }
    out.pc[out.count++] = pc;
    return _URC_NO_REASON;
}

// --------------------------------------------------------- parked fibers (libdw)

std::mutex symboliser_lock;
Dwfl* session = nullptr;  // reports this process's modules; kept for the process's life

// The fiber being unwound: its saved registers in DWARF numbering (rax, rdx,
// rcx, rbx, rsi, rdi, rbp, rsp, r8–r15, return address) and the stack bytes
// the unwinder may read.
struct parked_unwind {
    Dwarf_Word registers[17];
    std::uintptr_t stack_low;
    std::uintptr_t stack_high;
    traceback* out;
};
parked_unwind parked_job;

pid_t next_thread(Dwfl*, void*, void** state) {
    if (*state) return 0;
    *state = &parked_job;
    return getpid();
}

// The fiber is not ours and may be picked up by another M while we read:
// a racy, uninstrumented load of its stack, inside its bounds only (the
// slabs stay mapped while the runtime runs), so at worst a wrong frame.
__attribute__((no_sanitize("address", "thread"))) Dwarf_Word load_word(std::uintptr_t address) {
    return *reinterpret_cast<const volatile Dwarf_Word*>(address);
}

bool read_stack_word(Dwfl*, Dwarf_Addr address, Dwarf_Word* result, void*) {
    if (address < parked_job.stack_low || address + sizeof(Dwarf_Word) > parked_job.stack_high) return false;
    *result = load_word(address);
    return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void*) {
    return dwfl_thread_state_registers(thread, 0, 17, parked_job.registers);
}

const Dwfl_Thread_Callbacks parked_thread_callbacks = {
    next_thread, nullptr, read_stack_word, set_initial_registers, nullptr, nullptr,
};

int collect_parked_frame(Dwfl_Frame* frame, void*) {
    Dwarf_Addr pc = 0;
    bool activation = false;
    if (!dwfl_frame_pc(frame, &pc, &activation) || pc == 0) return DWARF_CB_ABORT;
    traceback& out = *parked_job.out;
    if (out.count == traceback_capacity) {
        out.truncated = true;
        return DWARF_CB_ABORT;
    }
    out.pc[out.count++] = static_cast<std::uintptr_t>(pc);
    return DWARF_CB_OK;
}

const Dwfl_Callbacks session_callbacks = {
    dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, nullptr,
};

// Reports (again) the modules mapped now; a library dlopened since the last
// report is found at the next miss.
bool report_modules() {
    if (!session) {
        session = dwfl_begin(&session_callbacks);
        if (!session) return false;
        if (dwfl_linux_proc_report(session, getpid()) != 0 || dwfl_report_end(session, nullptr, nullptr) != 0)
            return false;
        return dwfl_attach_state(session, nullptr, getpid(), &parked_thread_callbacks, nullptr);
    }
    dwfl_report_begin_add(session);
    const bool ok = dwfl_linux_proc_report(session, getpid()) == 0;
    return dwfl_report_end(session, nullptr, nullptr) == 0 && ok;
}

// A dump may run in a signal handler that interrupted a holder of the lock
// on its own thread: a bounded wait, then the caller does without.
bool lock_symboliser() noexcept {
    for (int tries = 0; tries < 2000; ++tries) {
        if (symboliser_lock.try_lock()) return true;
        sched_yield();
    }
    return false;
}

// ------------------------------------------------- fibers running elsewhere

enum capture_state : std::uint32_t { capture_idle, capture_asked, capture_answering, capture_done, capture_away };

struct capture_request {
    std::atomic<std::uint32_t> state{capture_idle};
    std::atomic<int> tid{0};
    std::atomic<const fiber*> target{nullptr};
    traceback frames;
};
capture_request request;
std::mutex capture_lock;

void on_capture_signal(int, siginfo_t*, void* uctx) {
    const int saved_errno = errno;
    std::uint32_t asked = capture_asked;
    if (request.tid.load(std::memory_order_relaxed) == static_cast<int>(syscall(SYS_gettid)) &&
        request.state.compare_exchange_strong(asked, capture_answering, std::memory_order_acquire)) {
        const fiber* f = request.target.load(std::memory_order_relaxed);
        const auto sp = static_cast<std::uintptr_t>(static_cast<const ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
        // The M may have switched to its scheduler stack (or another fiber)
        // since the dumping thread looked: then there is nothing to record.
        const bool on_its_stack = sp >= reinterpret_cast<std::uintptr_t>(f->stack_low) &&
                                  sp < reinterpret_cast<std::uintptr_t>(f);
        if (on_its_stack) capture_from_signal(uctx, request.frames);
        request.state.store(on_its_stack ? capture_done : capture_away, std::memory_order_release);
        futex_wake(request.state, 1);
    }
    errno = saved_errno;
}

std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool starts_with(const char* s, const char* prefix) noexcept { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

void copy_text(char* to, std::size_t size, const char* from) noexcept {
    std::size_t n = std::strlen(from);
    if (n >= size) n = size - 1;
    std::memcpy(to, from, n);
    to[n] = '\0';
}

}  // namespace

// ------------------------------------------------------------------ capture

void capture_current(traceback& out) noexcept {
    out.count = 0;
    out.truncated = false;
    out.first_exact = false;
    unwind_walk walk{&out, 0};
    _Unwind_Backtrace(collect_frame, &walk);
}

void capture_from_signal(const void* uctx, traceback& out) noexcept {
    const auto pc = static_cast<std::uintptr_t>(static_cast<const ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RIP]);
    out.count = 0;
    out.truncated = false;
    out.first_exact = true;
    // libgcc steps through the kernel's signal frame (__restore_rt) into the
    // interrupted one, whose pc is the interrupted instruction.
    unwind_walk walk{&out, pc};
    _Unwind_Backtrace(collect_frame, &walk);
    if (out.count == 0) out.pc[out.count++] = pc;  // could not get past the signal frame
}

bool capture_parked(const fiber* f, traceback& out) noexcept {
    out.count = 0;
    out.truncated = false;
    out.first_exact = false;
    // f->context is the owner's field, written at every switch: a racy
    // snapshot read like the stack words, uninstrumented for the same reason.
    const auto saved = static_cast<std::uintptr_t>(load_word(reinterpret_cast<std::uintptr_t>(&f->context)));
    const auto low = reinterpret_cast<std::uintptr_t>(f->stack_low);
    const auto high = reinterpret_cast<std::uintptr_t>(f) + sizeof(fiber);
    if (saved < low || saved + 0x40 > high) return false;
    if (!lock_symboliser()) return false;
    std::lock_guard<std::mutex> g(symboliser_lock, std::adopt_lock);
    if (!session && !report_modules()) return false;
    // jump_fcontext (Boost's jump_x86_64_sysv_elf_gas.S) pushed, from the
    // saved pointer up: mxcsr and the x87 control word, r12, r13, r14, r15,
    // rbx, rbp, then the return address into its caller; the caller's stack
    // pointer is just above that.
    Dwarf_Word saved_words[8];
    for (int i = 0; i < 8; ++i) saved_words[i] = load_word(saved + 8 * static_cast<std::uintptr_t>(i));
    parked_job = {};
    parked_job.registers[12] = saved_words[1];
    parked_job.registers[13] = saved_words[2];
    parked_job.registers[14] = saved_words[3];
    parked_job.registers[15] = saved_words[4];
    parked_job.registers[3] = saved_words[5];
    parked_job.registers[6] = saved_words[6];
    parked_job.registers[16] = saved_words[7];
    parked_job.registers[7] = saved + 0x40;
    parked_job.stack_low = low;
    parked_job.stack_high = high;
    parked_job.out = &out;
    // Ends with an error at the stack's base (make_fcontext's trampoline has
    // no unwind information): the frames collected up to there are the stack.
    dwfl_getthread_frames(session, getpid(), collect_parked_frame, nullptr);
    return out.count > 0;
}

running_capture capture_running(const fiber* f, int tid, traceback& out) noexcept {
    if (tid <= 0) return running_capture::unavailable;
    bool locked = false;
    for (int tries = 0; tries < 2000 && !locked; ++tries) {
        locked = capture_lock.try_lock();
        if (!locked) sched_yield();
    }
    if (!locked) return running_capture::unavailable;
    std::lock_guard<std::mutex> g(capture_lock, std::adopt_lock);
    request.tid.store(tid, std::memory_order_relaxed);
    request.target.store(f, std::memory_order_relaxed);
    request.state.store(capture_asked, std::memory_order_seq_cst);
    if (syscall(SYS_tgkill, getpid(), tid, capture_signal()) != 0) {
        request.state.store(capture_idle, std::memory_order_relaxed);
        return running_capture::unavailable;
    }
    // A thread blocked in a system call with the signal masked never
    // answers; 100 ms is a bound on the dump, not a measure of anything.
    const std::int64_t deadline = monotonic_ns() + 100'000'000;
    std::uint32_t state;
    while ((state = request.state.load(std::memory_order_acquire)) == capture_asked && monotonic_ns() < deadline)
        futex_wait(request.state, capture_asked, deadline);
    if (state == capture_asked) {
        std::uint32_t asked = capture_asked;
        if (request.state.compare_exchange_strong(asked, capture_idle, std::memory_order_acquire))
            return running_capture::timed_out;
        state = asked;  // the handler has just started: its answer is coming
    }
    while ((state = request.state.load(std::memory_order_acquire)) == capture_answering)
        futex_wait(request.state, capture_answering, -1);
    const bool captured = state == capture_done;
    if (captured) out = request.frames;
    request.state.store(capture_idle, std::memory_order_relaxed);
    return captured ? running_capture::captured : running_capture::not_running;
}

// -------------------------------------------------------------- symbolising

namespace {

void demangle_into(char* to, std::size_t size, const char* name) noexcept {
    int status = -1;
    char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    copy_text(to, size, status == 0 && demangled ? demangled : name);
    std::free(demangled);
}

// An inlined call's function: its linkage name (demangled) where the
// compiler kept one, else its plain name.
void name_of_inlined(Dwarf_Die* scope, frame_info& out) noexcept {
    Dwarf_Attribute attr;
    const char* name = nullptr;
    if (dwarf_attr_integrate(scope, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(scope, DW_AT_MIPS_linkage_name, &attr))
        name = dwarf_formstring(&attr);
    if (name) {
        demangle_into(out.function, sizeof out.function, name);
        return;
    }
    name = dwarf_diename(scope);
    copy_text(out.function, sizeof out.function, name ? name : "?");
}

// Where the inlined call `scope` was made, in the function it was inlined into.
void call_site_of(Dwarf_Die* cu, Dwarf_Die* scope, frame_info& out) noexcept {
    out.file[0] = '\0';
    out.line = 0;
    Dwarf_Attribute attr;
    Dwarf_Word file_index = 0, line = 0;
    if (!dwarf_attr(scope, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &file_index) != 0) return;
    if (!dwarf_attr(scope, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0) return;
    Dwarf_Files* files = nullptr;
    std::size_t count = 0;
    if (dwarf_getsrcfiles(cu, &files, &count) != 0 || file_index >= count) return;
    if (const char* file = dwarf_filesrc(files, file_index, nullptr, nullptr)) {
        copy_text(out.file, sizeof out.file, file);
        out.line = static_cast<unsigned>(line);
    }
}

}  // namespace

void name_unknown(std::uintptr_t pc, frame_info& out) noexcept {
    // Go prints "?" for a pc it cannot name; the address helps addr2line.
    char text[32] = "?() pc=0x";
    char* p = text + std::strlen(text);
    bool leading = true;
    for (int shift = 60; shift >= 0; shift -= 4) {
        const unsigned digit = static_cast<unsigned>(pc >> shift) & 0xf;
        if (leading && digit == 0 && shift) continue;
        leading = false;
        *p++ = "0123456789abcdef"[digit];
    }
    *p = '\0';
    copy_text(out.function, sizeof out.function, text);
    out.file[0] = '\0';
    out.line = 0;
}

int symbolise_frame(std::uintptr_t pc, bool is_return_address, frame_info* out) noexcept {
    out[0].function[0] = '\0';
    out[0].file[0] = '\0';
    out[0].line = 0;
    const Dwarf_Addr address = is_return_address ? pc - 1 : pc;
    int count = 1;
    if (lock_symboliser()) {
        std::lock_guard<std::mutex> g(symboliser_lock, std::adopt_lock);
        Dwfl_Module* module = nullptr;
        if (session || report_modules()) module = dwfl_addrmodule(session, address);
        if (!module && session && report_modules()) module = dwfl_addrmodule(session, address);
        if (module) {
            // The innermost location, from the line table.
            if (Dwfl_Line* line = dwfl_module_getsrc(module, address)) {
                int number = 0;
                if (const char* file = dwfl_lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr)) {
                    copy_text(out[0].file, sizeof out[0].file, file);
                    out[0].line = static_cast<unsigned>(number);
                }
            }
            // Each inlined call around the pc is a frame: its function at
            // the location inside it, then the caller at the call's site.
            Dwarf_Addr bias = 0;
            Dwarf_Die* cu = dwfl_module_addrdie(module, address, &bias);
            Dwarf_Die* scopes = nullptr;
            const int nscopes = cu ? dwarf_getscopes(cu, address - bias, &scopes) : 0;
            for (int i = 0; i < nscopes && count < max_inlined_frames; ++i) {
                if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
                name_of_inlined(&scopes[i], out[count - 1]);
                call_site_of(cu, &scopes[i], out[count]);
                out[count].function[0] = '\0';
                ++count;
            }
            std::free(scopes);
            // The outermost frame is the function the pc is in.
            if (const char* name = dwfl_module_addrname(module, address))
                demangle_into(out[count - 1].function, sizeof out[count - 1].function, name);
        }
    }
    if (out[count - 1].function[0] == '\0') name_unknown(pc, out[count - 1]);
    return count;
}

namespace {

bool in_runtime_sources(const char* file) noexcept {
    for (const char* dir : {"runtime/src/", "runtime/detail/", "channels/src/", "netpoll/src/"})
        if (std::strstr(file, dir)) return true;
    return false;
}

bool named_as_runtime(const char* function) noexcept {
    // A name in goro::detail before its parameter list: the runtime's own
    // functions and the templates that call user code (a user function
    // taking a detail type as a parameter is the user's).
    const char* detail = std::strstr(function, "goro::detail::");
    const char* params = std::strchr(function, '(');
    if (detail && (!params || detail < params)) return true;
    for (const char* prefix : {"jump_fcontext", "make_fcontext", "ontop_fcontext", "_Unwind_", "__cxa_throw",
                               "goro::dump_fibers", "uw_", "__restore_rt", "__sanitizer", "__asan", "__tsan"})
        if (starts_with(function, prefix)) return true;
    // goro::run's and goro::go's type-erasing thunks, at a fiber's base.
    return starts_with(function, "goro::") && std::strstr(function, "{lambda(void*)#");
}

}  // namespace

bool is_runtime_frame(const frame_info& frame) noexcept {
    // An inlined call is named without its scope ("switch_to_scheduler",
    // "operator()"): it is the runtime's if its code is in the runtime's sources.
    if (!std::strstr(frame.function, "::")) return in_runtime_sources(frame.file) || named_as_runtime(frame.function);
    if (!named_as_runtime(frame.function)) return false;
    // libdw does not find every inlined call (a lambda's body inlined into
    // goro::run's thunk): a runtime function whose code here is the user's
    // (neither the runtime's sources nor goro's headers, nor the system's,
    // as std::invoke's) is shown.
    return !frame.file[0] || in_runtime_sources(frame.file) || std::strstr(frame.file, "/goro/") ||
           starts_with(frame.file, "/usr/");
}

// ------------------------------------------------------------------- throws

const traceback* throw_site_of(const fiber* f, const void* thrown_object) noexcept {
    const throw_record* r = f->last_throw;
    return r && r->thrown_object == thrown_object ? &r->frames : nullptr;
}

void free_throw_record(fiber* f) noexcept {
    delete f->last_throw;
    f->last_throw = nullptr;
}

namespace {

using cxa_throw_fn = void (*)(void*, std::type_info*, void (*)(void*));
std::atomic<cxa_throw_fn> next_cxa_throw{nullptr};

// On a fiber, keeps the stack of this throw for its panic report. The
// fiber is the one whose stack we are on: m->current alone may name a fiber
// while the M runs its scheduler stack.
void note_throw(void* thrown_object) noexcept {
    machine* m = current_machine();
    if (!m) return;
    fiber* f = m->current;
    const auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (!f || sp < reinterpret_cast<std::uintptr_t>(f->stack_low) || sp >= reinterpret_cast<std::uintptr_t>(f)) return;
    if (!f->last_throw) f->last_throw = new (std::nothrow) throw_record;
    if (!f->last_throw) return;
    f->last_throw->thrown_object = thrown_object;
    capture_current(f->last_throw->frames);
}

}  // namespace

void install_capture_handler() noexcept {
    struct sigaction sa {};
    sa.sa_sigaction = &on_capture_signal;
    // SA_RESTART: a system call the signal interrupts goes on by itself.
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(capture_signal(), &sa, nullptr);
}

// SIGURG, as Go's preemption uses: ignored by default, so a stray one
// harms nothing, and no program expects it to mean much.
int capture_signal() noexcept { return SIGURG; }

}  // namespace goro::detail

// Every throw in the process passes here (libgoro defines the symbol, so the
// program's and libstdc++'s throws bind to it) and then goes on to the C++
// runtime's own __cxa_throw. Off a fiber it costs one thread-local read.
namespace __cxxabiv1 {
extern "C" __attribute__((__noreturn__)) void __cxa_throw(void* thrown_object, std::type_info* type, void (*destructor)(void*)) {
    using goro::detail::next_cxa_throw;
    goro::detail::note_throw(thrown_object);
    goro::detail::cxa_throw_fn next = next_cxa_throw.load(std::memory_order_acquire);
    if (!next) {
        next = reinterpret_cast<goro::detail::cxa_throw_fn>(dlsym(RTLD_NEXT, "__cxa_throw"));
        if (!next) GORO_FATAL("runtime: the C++ runtime's __cxa_throw is not found");
        next_cxa_throw.store(next, std::memory_order_release);
    }
    next(thrown_object, type, destructor);
    __builtin_unreachable();
}
}  // namespace __cxxabiv1
