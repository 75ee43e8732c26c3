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
#pragma once

#include <initializer_list>

#include <goro/chan.hpp>

namespace goro {

void signal_notify(chan<int> ch, std::initializer_list<int> signals);
// Stop delivering to ch (Go's signal.Stop). The handlers stay installed.
void signal_stop(const chan<int>& ch);

}  // namespace goro
