#include "health/hiredis_libuv.h"

#include <cstdlib>

namespace rs::health {
namespace {

struct Events {
  redisAsyncContext* context;  // Cleared by Cleanup: hiredis may free the context before close.
  uv_poll_t handle;
  int events;
};

void OnPoll(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<Events*>(handle->data);
  int ev = status != 0 ? p->events : events;
  if (p->context != nullptr && (ev & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context != nullptr && (ev & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}

void Update(Events* p) {
  if (p->events) {
    uv_poll_start(&p->handle, p->events, OnPoll);
  } else {
    uv_poll_stop(&p->handle);
  }
}

void AddRead(void* d) {
  auto* p = static_cast<Events*>(d);
  p->events |= UV_READABLE;
  Update(p);
}
void DelRead(void* d) {
  auto* p = static_cast<Events*>(d);
  p->events &= ~UV_READABLE;
  Update(p);
}
void AddWrite(void* d) {
  auto* p = static_cast<Events*>(d);
  p->events |= UV_WRITABLE;
  Update(p);
}
void DelWrite(void* d) {
  auto* p = static_cast<Events*>(d);
  p->events &= ~UV_WRITABLE;
  Update(p);
}
void Cleanup(void* d) {
  auto* p = static_cast<Events*>(d);
  p->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { std::free(h->data); });
}

}  // namespace

Status AttachHiredisToLibuv(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return Status::FailedPrecondition("hiredis context already attached");
  auto* p = static_cast<Events*>(std::calloc(1, sizeof(Events)));
  if (p == nullptr) return Status::Internal("out of memory attaching hiredis to libuv");
  int rc = uv_poll_init(loop, &p->handle, ac->c.fd);
  if (rc != 0) {
    std::free(p);
    return Status::IoError(std::string("uv_poll_init: ") + uv_strerror(rc));
  }
  p->handle.data = p;
  p->context = ac;
  ac->ev.addRead = AddRead;
  ac->ev.delRead = DelRead;
  ac->ev.addWrite = AddWrite;
  ac->ev.delWrite = DelWrite;
  ac->ev.cleanup = Cleanup;
  ac->ev.data = p;
  return Status::Ok();
}

}  // namespace rs::health
