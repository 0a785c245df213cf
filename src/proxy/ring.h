// A FIFO on a power-of-two ring that grows and never shrinks: push at the back, pop at the front,
// no allocation in the steady state (std::deque allocates and frees a block every few elements
// when used as a queue).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace rs::proxy {

// Thread contract: none; owned by one worker. T must be default-constructible and movable.
// References are invalidated by push_back (the ring may grow).
template <typename T>
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& front() { return data_[head_]; }
  T& operator[](size_t i) { return data_[(head_ + i) & mask_]; }
  const T& operator[](size_t i) const { return data_[(head_ + i) & mask_]; }

  void push_back(T&& value) {
    if (size_ == cap_) Grow();
    data_[(head_ + size_) & mask_] = std::move(value);
    ++size_;
  }
  // Leaves a default value behind, so whatever the element owned is released now.
  void pop_front() {
    data_[head_] = T();
    head_ = (head_ + 1) & mask_;
    --size_;
  }
  void clear() {
    while (size_ > 0) pop_front();
    head_ = 0;
  }
  void swap(Ring& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(head_, other.head_);
    std::swap(size_, other.size_);
    std::swap(cap_, other.cap_);
    std::swap(mask_, other.mask_);
  }

 private:
  void Grow() {
    size_t cap = cap_ ? cap_ * 2 : 16;
    auto fresh = std::make_unique<T[]>(cap);
    for (size_t i = 0; i < size_; ++i) fresh[i] = std::move((*this)[i]);
    data_ = std::move(fresh);
    head_ = 0;
    cap_ = cap;
    mask_ = cap - 1;
  }

  std::unique_ptr<T[]> data_;
  size_t head_ = 0, size_ = 0, cap_ = 0, mask_ = 0;
};

}  // namespace rs::proxy
