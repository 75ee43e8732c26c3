// goro/sync.hpp — Go's sync package: every primitive parks a fiber (or blocks
// a plain thread) and never blocks a worker.
#pragma once

#include <goro/cond.hpp>
#include <goro/mutex.hpp>
#include <goro/once.hpp>
#include <goro/rw_mutex.hpp>
#include <goro/wait_group.hpp>
