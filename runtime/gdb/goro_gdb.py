# goro_gdb.py — GDB support for programs linked with goro: the fibers of the
# running scheduler, their stacks, and pretty-printers for goro's types.
#
#   info fibers                 one line per fiber: id, state or wait reason,
#                               name, spawn site, and the M and thread of a
#                               running one
#   fiber ID [CMD]              run CMD (bt by default; bt full, frame N,
#                               frame apply level N ...) on fiber ID's stack
#   fiber apply all CMD         run CMD on every fiber's stack
#   print ch                    goro::chan<T>: len, cap, closed, waiters and
#                               the buffered values; goro::mutex: locked and
#                               waiters
#
# Installed as <prefix>/share/goro/gdb/goro_gdb.py and named by the
# .debug_gdb_scripts entry of every program linked with goro, so GDB loads
# it once its directory is an auto-load safe path (docs/debugging.md).
#
# Everything is read from memory through the runtime's debug info, nothing is
# written: the commands work the same on a core file as on a live process.
# A parked fiber's stack is shown through a frame unwinder that, while one
# command runs, makes the saved Boost.Context registers the caller of the
# selected thread's innermost frame; a frame filter hides that frame. The
# inferior's registers are never touched.

import re
import struct

import gdb
import gdb.printing
import gdb.types
import gdb.unwinder

# ------------------------------------------------------------ the runtime


class GoroError(gdb.GdbError):
    """The program, or its debug info, is not what the extension needs."""


def _type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise GoroError(
            "goro: no debug info for %s (build libgoro with -g: meson's "
            "default buildtype, debugoptimized, has it)" % name)


def _atomic(v):
    """The value inside a std::atomic<T>: the same bytes as a T."""
    t = v.type.strip_typedefs()
    return v.address.cast(t.template_argument(0).pointer()).dereference()


def _enum_names(t):
    return {int(f.enumval): f.name.split("::")[-1] for f in t.strip_typedefs().fields()}


# The names goro::dump_fibers prints (runtime/src/support.cpp).
_reason_text = {
    "none": "waiting",
    "rw_mutex_read": "rw_mutex read",
    "rw_mutex_write": "rw_mutex write",
    "chan_receive": "chan receive",
    "chan_send": "chan send",
    "chan_receive_nil": "chan receive (nil chan)",
    "chan_send_nil": "chan send (nil chan)",
    "select_no_cases": "select (no cases)",
    "io_wait": "IO wait",
    "blocking_call": "blocking call",
    "synctest_wait": "synctest.wait",
    "synctest_run": "synctest.run",
}


def _string(v):
    p = int(_atomic(v)) if v.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT else int(v)
    if p == 0:
        return None
    try:
        return gdb.Value(p).cast(gdb.lookup_type("char").pointer()).string(length=-1)
    except (gdb.error, gdb.MemoryError, UnicodeDecodeError):
        return "?"


def _vector(v):
    """The elements of a libstdc++ std::vector."""
    impl = v["_M_impl"]
    start, finish = impl["_M_start"], impl["_M_finish"]
    return [(start + i).dereference() for i in range(int(finish - start))]


def scheduler():
    """The running scheduler (goro::detail::scheduler), or None."""
    try:
        hook = gdb.parse_and_eval("goro_debug_scheduler")
    except gdb.error:
        hook = None  # no debug info for run.cpp: "has unknown type"
    if hook is not None and hook.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        s = _atomic(hook)
    else:
        try:
            addr = int(gdb.parse_and_eval("(unsigned long)&goro_debug_scheduler"))
        except gdb.error:
            raise GoroError("goro: this program is not linked with goro")
        s = gdb.Value(addr).cast(_type("goro::detail::scheduler").pointer().pointer()).dereference()
    if int(s) == 0:
        return None
    return s.dereference()


class Fiber:
    def __init__(self, block, states, reasons):
        self.block = block
        self.address = int(block.address)
        self.id = int(_atomic(block["id"]))
        self.state = states.get(int(_atomic(block["state"])), "unknown")
        reason = reasons.get(int(_atomic(block["reason"])), "unknown")
        self.reason = _reason_text.get(reason, reason)
        self.name = _string(block["name"])
        self.file = _string(block["site_file"])
        self.line = int(_atomic(block["site_line"]))
        self.function = _string(block["site_function"])
        self.context = int(block["context"])
        self.machine = None  # (M id, kernel thread id) while running

    def status(self):
        if self.state == "waiting":
            return self.reason
        return self.state

    def site(self):
        return "%s:%d in %s" % (self.file or "?", self.line, self.function or "?")


missing = [0]  # fibers the runtime counts but the last walk did not find


def fibers():
    """Every live fiber of the running scheduler, main (id 1) first, in
    the order goro::dump_fibers prints them."""
    s = scheduler()
    if s is None:
        return []
    fiber_t = _type("goro::detail::fiber")
    states = _enum_names(_type("goro::detail::fiber_state"))
    reasons = _enum_names(_type("goro::detail::wait_reason"))
    found = []
    slab = _atomic(s["stacks"]["slabs_"])
    seen = 0
    while int(slab) != 0 and seen < 1 << 20:
        seen += 1
        base = int(slab["base"])
        slot_bytes = int(slab["slot_bytes"])
        for i in range(int(slab["slots"])):
            top = base + (i + 1) * slot_bytes
            block = gdb.Value(top - fiber_t.sizeof).cast(fiber_t.pointer()).dereference()
            try:
                # Most blocks of a busy program's slabs may be dead: one
                # read decides before the others.
                if states.get(int(_atomic(block["state"]))) == "dead":
                    continue
                found.append(Fiber(block, states, reasons))
            except gdb.MemoryError:
                continue
        slab = slab["next"]
    running = {}
    try:
        for m in _vector(s["machines"]):
            m = m.dereference()
            cur = int(m["current"])
            if cur != 0:
                running[cur] = (int(m["id"]), int(_atomic(m["tid"])))
    except (gdb.error, gdb.MemoryError):
        pass
    for f in found:
        f.machine = running.get(f.address)
    try:
        missing[0] = max(0, live_count(s) - len(found))
    except (gdb.error, gdb.MemoryError):
        missing[0] = 0
    found.sort(key=lambda f: (f.id != 1,))
    return found


def live_count(s):
    """Fibers started minus fibers ended, from the runtime's counters (as
    goro::num_fibers counts them)."""
    processor_t = _type("goro::detail::processor")
    n = int(_atomic(s["fibers_started_without_p"])) - int(_atomic(s["fibers_exited_without_p"]))
    for holder in _vector(s["processors"]):
        # A std::unique_ptr<processor> is laid out as the pointer it holds.
        p = holder.address.cast(processor_t.pointer().pointer()).dereference().dereference()
        n += int(_atomic(p["fibers_started"])) - int(_atomic(p["fibers_exited"]))
    return n


def find_fiber(fid):
    for f in fibers():
        if f.id == fid:
            return f
    raise gdb.GdbError("goro: no fiber %d (info fibers lists them)" % fid)


def _thread_of(tid):
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == tid:
            return t
    return None


# ---------------------------------------------------- parked fiber stacks

# Boost.Context's jump_fcontext (x86-64 System V) leaves the departing
# context's stack pointer pointing at what it saved:
#   +0x00 mxcsr (4 bytes), x87 control word (2), padding
#   +0x08 r12  +0x10 r13  +0x18 r14  +0x20 r15  +0x28 rbx  +0x30 rbp
#   +0x38 the return address into the caller of jump_fcontext
# and the caller's stack pointer was +0x40 before the call pushed it.
_saved_layout = (("r12", 0x08), ("r13", 0x10), ("r14", 0x18), ("r15", 0x20),
                 ("rbx", 0x28), ("rbp", 0x30), ("rip", 0x38))
_saved_size = 0x40


def saved_registers(context):
    raw = bytes(gdb.selected_inferior().read_memory(context, _saved_size))
    regs = {name: struct.unpack_from("<Q", raw, off)[0] for name, off in _saved_layout}
    regs["rsp"] = context + _saved_size
    return regs


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class FiberUnwinder(gdb.unwinder.Unwinder):
    """While `view` is set, the innermost frame of the thread it names
    returns into the parked fiber: its caller's registers are those the
    fiber saved when it switched out."""

    def __init__(self):
        super().__init__("goro-fibers")
        self.view = None  # (thread ptid, context, registers)

    def __call__(self, pending):
        view = self.view
        if view is None or pending.level() != 0:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.ptid != view[0]:
            return None
        u64 = gdb.lookup_type("unsigned long")
        pc = pending.read_register("rip")
        # The frame's stack address is the saved context's, below the
        # fiber's first frame: GDB refuses a caller inner to its callee.
        info = pending.create_unwind_info(_FrameId(gdb.Value(view[1]).cast(u64), pc))
        for name, value in view[2].items():
            info.add_saved_register(name, gdb.Value(value).cast(u64))
        return info


_unwinder = FiberUnwinder()


class FiberFrameFilter:
    """Cuts every fiber's backtrace at goro::detail::fiber_main, its first
    frame: below it lies Boost.Context's entry trampoline, which has no
    unwind info. While a parked fiber is shown, also hides the host thread's
    own frame and the runtime's switch frames above the fiber's code."""

    _hidden = re.compile(r"^goro::detail::(\(anonymous namespace\)::)?(switch_to_scheduler|park)\b")
    _bottom = re.compile(r"^goro::detail::fiber_main\b")

    def __init__(self):
        self.name = "goro-fibers"
        self.priority = 100
        self.enabled = True

    def filter(self, frames):
        return self._filter(frames, _unwinder.view is not None)

    def _filter(self, frames, parked):
        leading = parked
        for fd in frames:
            f = fd.inferior_frame()
            name = f.name() or ""
            if leading:
                if f.level() == 0 or self._hidden.match(name):
                    continue
                leading = False
            yield fd
            if self._bottom.match(name):
                return


class _KeepSelection:
    """Restores the selected thread and frame level after a fiber command."""

    def __enter__(self):
        self.thread = gdb.selected_thread()
        try:
            self.level = gdb.selected_frame().level()
        except gdb.error:
            self.level = None
        return self

    def __exit__(self, *exc):
        if self.thread is not None and self.thread.is_valid():
            self.thread.switch()
            # Frame.select, not the frame command: that one would print.
            try:
                frame = gdb.newest_frame()
                for _ in range(self.level or 0):
                    frame = frame.older() or frame
                frame.select()
            except gdb.error:
                pass
        return False


def run_on_fiber(f, command):
    """Run a GDB command with fiber f's stack as the selected thread's."""
    with _KeepSelection():
        _run_on_fiber(f, command)


def _run_on_fiber(f, command):
    if f.machine is not None:
        thread = _thread_of(f.machine[1])
        if thread is None:
            raise gdb.GdbError("goro: fiber %d runs on thread %d, which GDB does not know" % (f.id, f.machine[1]))
        thread.switch()
        gdb.execute(command)
        return
    if f.context == 0:
        raise gdb.GdbError("goro: fiber %d has no saved context" % f.id)
    thread = gdb.selected_thread()
    if thread is None:
        raise gdb.GdbError("goro: no thread is selected")
    regs = saved_registers(f.context)
    # A fiber that has never run still has the context make_fcontext
    # built: it "returns" into Boost.Context's entry trampoline, and has no
    # frames of its own yet.
    where = gdb.execute("info symbol 0x%x" % regs["rip"], to_string=True)
    if where.startswith("make_fcontext"):
        print("fiber %d has not started yet: no frames" % f.id)
        return
    _unwinder.view = (thread.ptid, f.context, regs)
    gdb.invalidate_cached_frames()
    try:
        gdb.execute(command)
    finally:
        _unwinder.view = None
        gdb.invalidate_cached_frames()


# ---------------------------------------------------------------- commands


class InfoFibers(gdb.Command):
    """List every fiber: id, state or wait reason, name, spawn site, and the
M and thread of a running one. `*` marks the fiber of the selected thread.
Usage: info fibers"""

    def __init__(self):
        super().__init__("info fibers", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        try:
            all_fibers = fibers()
        except GoroError as e:
            raise gdb.GdbError(str(e))
        if missing[0]:
            print("goro: %d fiber(s) the runtime counts are not in memory: a core written by "
                  "gcore from a program whose stacks have MADV_GUARD_INSTALL guard pages? "
                  "(docs/debugging.md)" % missing[0])
        if not all_fibers:
            if not missing[0]:
                print("no goro runtime is running")
            return
        selected = gdb.selected_thread()
        selected_tid = selected.ptid[1] if selected is not None else None
        for f in all_fibers:
            mark = "*" if f.machine is not None and f.machine[1] == selected_tid else " "
            status = f.status()
            if f.machine is not None:
                thread = _thread_of(f.machine[1])
                status += " on M%d" % f.machine[0]
                if thread is not None:
                    status += ", thread %d" % thread.num
            name = ' "%s"' % f.name if f.name else ""
            print("%s %-4d %s%s  spawned at %s" % (mark, f.id, "[" + status + "]", name, f.site()))


class FiberCommand(gdb.Command):
    """Run a command on one fiber's stack, or on every fiber's.
Usage: fiber ID [COMMAND]      (COMMAND defaults to bt)
       fiber apply all COMMAND
A running fiber's command runs in the thread that runs it; a parked one's
in the selected thread, unwound from the registers the fiber saved when it
switched out (nothing is written to the inferior: this works on core files)."""

    def __init__(self):
        super().__init__("fiber", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        words = arg.split(None, 1)
        if not words:
            raise gdb.GdbError("usage: fiber ID [COMMAND] | fiber apply all COMMAND")
        try:
            if words[0] == "apply":
                rest = words[1].split(None, 1) if len(words) > 1 else []
                if not rest or rest[0] != "all" or len(rest) < 2:
                    raise gdb.GdbError("usage: fiber apply all COMMAND")
                command = rest[1]
                for f in fibers():
                    name = ' "%s"' % f.name if f.name else ""
                    print("\nfiber %d%s [%s]:" % (f.id, name, f.status()))
                    try:
                        run_on_fiber(f, command)
                    except gdb.error as e:
                        print("goro: %s" % e)
                return
            try:
                fid = int(words[0], 0)
            except ValueError:
                raise gdb.GdbError("goro: %r is not a fiber id" % words[0])
            command = words[1] if len(words) > 1 else "bt"
            run_on_fiber(find_fiber(fid), command)
        except GoroError as e:
            raise gdb.GdbError(str(e))


# ----------------------------------------------------------- pretty-printers


def _queue_length(q):
    n = 0
    w = q["first"]
    while int(w) != 0 and n < 1 << 16:
        n += 1
        w = w["next"]
    return n


class ChanPrinter:
    """goro::chan<T>, send_chan<T>, recv_chan<T>: a reference to an hchan."""

    max_buffered = 64

    def __init__(self, val):
        self.val = val

    def _hchan(self):
        c = self.val["handle_"]["c_"]
        if int(c) == 0:
            return None
        return c.cast(_type("goro::detail::hchan").pointer()).dereference()

    def _type(self):
        return gdb.types.get_basic_type(self.val.type)

    def to_string(self):
        name = str(self._type())
        if self._hchan() is None:
            return name + " nil"
        return name

    def children(self):
        c = self._hchan()
        if c is None:
            return
        count = int(_atomic(c["count"]))
        cap = int(c["capacity"])
        yield "len", count
        yield "cap", cap
        yield "closed", bool(c["closed"])
        yield "waiting_receivers", _queue_length(c["recvq"])
        yield "waiting_senders", _queue_length(c["sendq"])
        elem = self._type().template_argument(0)
        buffer = int(c["buffer"])
        first = int(c["recv_index"])
        for k in range(min(count, self.max_buffered)):
            slot = (first + k) % cap
            yield "[%d]" % k, gdb.Value(buffer + slot * elem.sizeof).cast(elem.pointer()).dereference()


class MutexPrinter:
    """goro::mutex: its state word is locked | woken | starving | waiters << 3."""

    def __init__(self, val):
        self.val = val

    def to_string(self):
        return "goro::mutex"

    def children(self):
        state = int(_atomic(self.val["state_"]))
        yield "locked", bool(state & 1)
        yield "waiters", state >> 3
        yield "starving", bool(state & 4)


def _printers():
    pp = gdb.printing.RegexpCollectionPrettyPrinter("goro")
    pp.add_printer("chan", r"^goro::(chan|send_chan|recv_chan)<.*>$", ChanPrinter)
    pp.add_printer("mutex", r"^goro::mutex$", MutexPrinter)
    return pp


# ---------------------------------------------------------------- register

# The script may be loaded more than once (auto-load for each objfile that
# names it, an explicit `source`): every registration replaces the last.
InfoFibers()
FiberCommand()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)
_filter = FiberFrameFilter()
gdb.frame_filters[_filter.name] = _filter
gdb.printing.register_pretty_printer(gdb.current_objfile(), _printers(), replace=True)
