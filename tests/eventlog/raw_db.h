// An event log's RocksDB opened directly, with every column family (the index's too), to read
// or change it behind the log's back. The log itself must not be open.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <rocksdb/db.h>

namespace rs::eventlog::testing {

class RawDb {
 public:
  RawDb(const std::string& dir, bool read_only) {
    if (!rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir, &names_).ok()) return;
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const std::string& n : names_) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::Status s =
        read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, descs, &h_, &db_)
                  : rocksdb::DB::Open(rocksdb::Options(), dir, descs, &h_, &db_);
    if (!s.ok()) db_ = nullptr;
  }
  ~RawDb() {
    if (db_ == nullptr) return;
    for (auto* x : h_) db_->DestroyColumnFamilyHandle(x);
    delete db_;
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool ok() const { return db_ != nullptr; }
  rocksdb::DB* db() const { return db_; }
  // The handle of column family `name`, or nullptr if the log has none.
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) const {
    auto at = std::find(names_.begin(), names_.end(), name);
    return at == names_.end() ? nullptr : h_[at - names_.begin()];
  }

 private:
  std::vector<std::string> names_;
  std::vector<rocksdb::ColumnFamilyHandle*> h_;
  rocksdb::DB* db_ = nullptr;
};

}  // namespace rs::eventlog::testing
