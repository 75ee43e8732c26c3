// goro/signal.hpp — deliver process signals to channels (Go's os/signal).
//
//   auto stop = goro::make_chan<int>(1);
//   goro::signal_notify(stop, {SIGINT, SIGTERM});
//   stop.recv();   // a fiber parks here until ^C
//
// signal_notify installs a handler for each signal (replacing its default
// action, as Go's signal.Notify does) and sends the signal number on ch
// each time one arrives. Sends never block: with no room in ch the signal
// is dropped for that channel, so give ch a buffer. Several channels may
// ask for one signal. Must be called while goro::run is running; the
// registrations last until that run returns. A fiber (the signal loop)
// waits for signals meanwhile, so the deadlock detector stays quiet, as it
// does in Go once os/signal is in use.
//
//   auto [ctx, stop] = goro::signal_notify_context(goro::background(), {SIGINT, SIGTERM});
//   serve(ctx);    // returns once ctx.done() closes on ^C
//   stop();        // always: unregisters the signals and releases ctx
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include <goro/chan.hpp>
#include <goro/context.hpp>

namespace goro {

void signal_notify(chan<int> ch, std::initializer_list<int> signals);
// Stop delivering to ch (Go's signal.Stop). The handlers stay installed.
void signal_stop(const chan<int>& ch);

// signal.Ignore(sigs...): the signals are ignored (SIG_IGN) and no longer
// delivered to any channel, until a later signal_notify asks for them.
void signal_ignore(std::initializer_list<int> signals);
// signal.Ignored(sig): whether sig is ignored now, by signal_ignore or
// because the process started with it ignored (nohup).
bool signal_ignored(int signo) noexcept;
// signal.Reset(sigs...), and with no signals every one signal_notify or
// signal_ignore touched: delivery to channels stops and the signal's
// default behaviour returns (for SIGQUIT, goro's fiber dump).
void signal_reset(std::initializer_list<int> signals);
void signal_reset();

// A signal's name as Go's os.Signal prints it: "interrupt" for SIGINT,
// "terminated" for SIGTERM, "hangup", "user defined signal 1", ...;
// "signal N" for a number without one.
std::string signal_name(int signo);

// What signal_notify_context returns (Go's stop CancelFunc): cancels the
// context and stops the signals' delivery to it. Calling it again does
// nothing. Safe from any fiber or thread.
class signal_stop_func {
public:
    signal_stop_func() = default;
    void operator()() const;

private:
    friend std::pair<context, signal_stop_func> signal_notify_context(const context& parent,
                                                                      std::initializer_list<int> signals);
    signal_stop_func(cancel_func cancel, chan<int> ch) noexcept : cancel_(std::move(cancel)), ch_(std::move(ch)) {}
    cancel_func cancel_;
    chan<int> ch_;
};

// signal.NotifyContext(parent, signals...): a child of parent that is
// cancelled (context_errc::canceled) when one of the signals arrives, when
// parent is done, or when stop() is called. Until stop(), the signals stay
// registered, so a second ^C after the first is caught too, as in Go: call
// stop() to give the signals back (their handlers stay installed, as after
// signal_stop). Needs a running runtime, as signal_notify does; a fiber
// waits for the first signal while ctx is live.
std::pair<context, signal_stop_func> signal_notify_context(const context& parent, std::initializer_list<int> signals);

}  // namespace goro
