// tests/channels/go_perm_compile.cpp — Go's test/chan/perm.go: the channel
// direction errors that Go's compiler reports, as C++ compile errors.
//
// Not part of a test binary: tests/support/compile_check.sh compiles it once
// as it is (every line Go accepts must compile) and once per GORO_PERM_*
// macro, each adding one line that Go rejects; that compile must fail with
// the diagnostic tests/meson.build names for it.
#include <goro/chan.hpp>
#include <goro/select.hpp>

namespace {

goro::recv_chan<int> cr;
goro::send_chan<int> cs;
goro::chan<int> c;

[[maybe_unused]] void perm() {
    cr = c;  // ok
    cs = c;  // ok
#if defined(GORO_PERM_C_FROM_CR)
    c = cr;  // ERROR: a receive-only channel is not a channel
#endif
#if defined(GORO_PERM_C_FROM_CS)
    c = cs;  // ERROR
#endif
#if defined(GORO_PERM_CR_FROM_CS)
    cr = cs;  // ERROR
#endif
#if defined(GORO_PERM_CS_FROM_CR)
    cs = cr;  // ERROR
#endif

    c.send(0);                       // ok
    c.recv();                        // ok
    std::optional<int> x = c.recv();  // ok
    (void)x;

#if defined(GORO_PERM_CR_SEND)
    cr.send(0);  // ERROR "send"
#endif
#if defined(GORO_PERM_CR_TRY_SEND)
    cr.try_send(0);  // ERROR "send"
#endif
    cr.recv();      // ok
    x = cr.recv();  // ok
    x = cr.try_recv();

    cs.send(0);  // ok
    cs.try_send(0);
#if defined(GORO_PERM_CS_RECV)
    cs.recv();  // ERROR "receive"
#endif
#if defined(GORO_PERM_CS_TRY_RECV)
    x = cs.try_recv();  // ERROR "receive"
#endif

    int v = 0;
    goro::select(goro::send(c, 0),  // ok
                 goro::recv(c, v),  // ok
#if defined(GORO_PERM_SELECT_CR_SEND)
                 goro::send(cr, 0),  // ERROR "send"
#endif
                 goro::recv(cr, v),  // ok
                 goro::send(cs, 0),  // ok
#if defined(GORO_PERM_SELECT_CS_RECV)
                 goro::recv(cs, v),  // ERROR "receive"
#endif
                 goro::default_case());

    for (int e : cr) (void)e;  // ok
#if defined(GORO_PERM_RANGE_CS)
    for (int e : cs) (void)e;  // ERROR "receive"
#endif

    c.close();
    cs.close();
#if defined(GORO_PERM_CLOSE_CR)
    cr.close();  // ERROR "receive"
#endif
}

}  // namespace
