// goro/goro.hpp — the umbrella header: goroutines, channels, select, timers,
// sync, the netpoller, HTTP and TLS for C++20. See README.md and docs/.
// It lives in the top layer (http/), so it may include every layer.
#pragma once

#include <goro/blocking.hpp>
#include <goro/chan.hpp>
#include <goro/context.hpp>
#include <goro/errgroup.hpp>
#include <goro/fiber_local.hpp>
#include <goro/http.hpp>
#include <goro/io.hpp>
#include <goro/metrics.hpp>
#include <goro/net.hpp>
#include <goro/panic.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/semaphore.hpp>
#include <goro/signal.hpp>
#include <goro/singleflight.hpp>
#include <goro/sync.hpp>
#include <goro/synctest.hpp>
#include <goro/time.hpp>
#include <goro/tls.hpp>
#include <goro/trace.hpp>
