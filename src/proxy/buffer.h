// A byte buffer with a read position, allocated on demand and released when empty so idle
// connections cost no buffer memory.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace rs::proxy {

// Thread contract: owned by one connection, used by its worker.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(data_); }

  std::string_view view() const { return {data_ + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void Append(std::string_view bytes) {
    char* dst = Reserve(bytes.size());
    std::memcpy(dst, bytes.data(), bytes.size());
    end_ += bytes.size();
  }
  // Room for at least `n` more bytes at the end; returns where to write them.
  char* Reserve(size_t n) {
    if (cap_ - end_ >= n) return data_ + end_;
    size_t used = end_ - begin_;
    if (begin_ > 0 && cap_ - used >= n && begin_ >= used) {
      std::memmove(data_, data_ + begin_, used);
      begin_ = 0;
      end_ = used;
      return data_ + end_;
    }
    size_t want = used + n;
    size_t cap = cap_ ? cap_ : 4096;
    while (cap < want) cap *= 2;
    char* fresh = static_cast<char*>(std::malloc(cap));
    if (used) std::memcpy(fresh, data_ + begin_, used);
    std::free(data_);
    data_ = fresh;
    cap_ = cap;
    begin_ = 0;
    end_ = used;
    return data_ + end_;
  }
  char* write_ptr() { return data_ + end_; }
  size_t spare() const { return cap_ - end_; }
  void Commit(size_t n) { end_ += n; }
  // Frees the memory when nothing is buffered.
  void ReleaseIfEmpty() {
    if (begin_ == end_ && data_) {
      std::free(data_);
      data_ = nullptr;
      cap_ = begin_ = end_ = 0;
    }
  }
  size_t capacity() const { return cap_; }

 private:
  char* data_ = nullptr;
  size_t begin_ = 0, end_ = 0, cap_ = 0;
};

}  // namespace rs::proxy
