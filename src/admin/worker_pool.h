// A fixed pool of threads running queued tasks in order of arrival: the admin handlers that read
// controller state or the event log, off the HTTP loop.
// Thread contract: Submit from any thread; Stop (or the destructor) from the owner.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rs::admin {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  void Submit(std::function<void()> task);
  // Drops what is queued and not started, then joins the threads (after the running tasks).
  // Later Submits are dropped.
  void Stop();
  size_t queued();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace rs::admin
