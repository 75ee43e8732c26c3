// goro/goro.hpp — the umbrella header: goroutines, channels, select, timers,
// sync and the netpoller for C++20. See README.md and docs/.
#pragma once

#include <goro/fiber_local.hpp>
#include <goro/panic.hpp>
#include <goro/runtime.hpp>
#include <goro/sync.hpp>
