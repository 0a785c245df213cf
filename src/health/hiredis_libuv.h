// Attaches a hiredis async context to a libuv loop. Replaces hiredis 0.14's adapters/libuv.h,
// which drops poll errors (`if (status != 0) return;`): a refused connect then never reaches the
// connect callback and looks like a timeout. Here an error is handed to hiredis as readiness, so
// hiredis reads the socket error itself (the fix later hiredis releases made).
#pragma once

#include <hiredis/async.h>
#include <uv.h>

#include "common/status.h"

namespace rs::health {

Status AttachHiredisToLibuv(redisAsyncContext* ac, uv_loop_t* loop);

}  // namespace rs::health
