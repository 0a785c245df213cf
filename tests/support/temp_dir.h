// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
#pragma once

#include <filesystem>

#include "common/status.h"

namespace rs::test {

// Set RS_KEEP_TEST_DIRS=1 to keep the directories (their paths are printed) for a post-mortem.
class TempDir {
 public:
  // `prefix` names the directory: "<tmp>/<prefix>-XXXXXX".
  static Result<TempDir> Create(const char* prefix);

  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  void Remove();

  std::filesystem::path path_;
};

}  // namespace rs::test
