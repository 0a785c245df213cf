#include "eventlog/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "common/now.h"

namespace rs::eventlog {
namespace fs = std::filesystem;
namespace {

constexpr const char* kEventsCf = "events";
constexpr const char* kSnapshotsCf = "snapshots";
constexpr const char* kMetaCf = "meta";
constexpr const char* kIndexCf = "index";
constexpr uint64_t kIndexBuildChunk = 50'000;  // Records per WriteBatch while building.

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(fmt::format("{}: {}", what, s.ToString()));
  if (s.IsNotFound()) return Status::NotFound(fmt::format("{}: {}", what, s.ToString()));
  return Status::IoError(fmt::format("{}: {}", what, s.ToString()));
}

Seq KeySeq(const rocksdb::Slice& key) {
  Seq s = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) {
    s = (s << 8) | static_cast<uint8_t>(key[i]);
  }
  return s;
}

rocksdb::Options DbOptions() {
  rocksdb::Options o;
  o.max_open_files = -1;  // Required by secondary instances; the log has few files.
  o.keep_log_file_num = 3;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  return o;
}

// Present only while a new log is being created, so a crash half way is recognised.
constexpr const char* kCreatingFile = "CREATING-EVENT-LOG";

Status WriteFileSynced(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("creating {}: {}", path, std::strerror(errno)));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IoError(fmt::format("syncing {}: {}", path, std::strerror(errno)));
  return Status::Ok();
}

// In key order: the memtable inserts each key next to the one before (a batch's entries share
// prefixes), faster than inserting them in event order.
void PutSorted(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf,
               std::vector<IndexEntry>& entries) {
  std::sort(entries.begin(), entries.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return a.key < b.key; });
  for (const IndexEntry& x : entries) batch.Put(cf, x.key, x.value);
}


}  // namespace

std::optional<pid_t> LockHolder(const std::string& dir) {
  // RocksDB reports a held lock as a plain IOError, so the lock itself is what we ask. Not by
  // fcntl(F_GETLK) on the file: closing that descriptor would drop this process's own fcntl
  // locks on it, RocksDB's included. /proc/locks names the file by device and inode.
  struct stat st {};
  if (::stat((fs::path(dir) / "LOCK").c_str(), &st) != 0) return std::nullopt;
  const std::string file = fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev),
                                       static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (OFD locks have pid -1).
    std::istringstream in(line);
    std::string n, type, mode, access, pid, id;
    if (!(in >> n >> type >> mode >> access >> pid >> id)) continue;
    if (n == "->" || id != file) continue;  // "->" marks a waiter, not a holder.
    const long holder = std::strtol(pid.c_str(), nullptr, 10);
    return holder > 0 ? static_cast<pid_t>(holder) : -1;
  }
  return std::nullopt;
}

std::string NewGeneration() {
  std::random_device rd;  // The kernel's CSPRNG on Linux: two logs never share a generation.
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", static_cast<uint32_t>(rd()));
  return out;
}

std::string SeqKey(Seq seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return k;
}

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir,
                                                 const EventLogOptions& options) {
  const bool writer = options.mode == OpenMode::kReadWrite;
  const bool create = writer && options.create_if_missing;
  std::error_code ec;
  const bool exists = fs::is_directory(dir, ec);
  if (!exists && fs::exists(dir, ec)) {
    return Status::FailedPrecondition(fmt::format("{} is not an event log: not a directory", dir));
  }
  if (!exists && !create) {
    return Status::NotFound(fmt::format("{} is not an event log: no such directory", dir));
  }
  const fs::path creating = fs::path(dir) / kCreatingFile;
  if (exists && fs::exists(creating, ec)) {
    // A crash while creating: the directory was empty before, so starting over loses nothing.
    if (!create) {
      return Status::FailedPrecondition(fmt::format(
          "{}: creating the event log was interrupted; open it with create to start over", dir));
    }
    // The marker goes last (it is rewritten below), so a crash here is still recognised.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().filename() != kCreatingFile) fs::remove_all(entry.path(), ec);
    }
    fs::remove(creating, ec);
  }
  const bool has_db = exists && fs::exists(fs::path(dir) / "CURRENT", ec);
  bool fresh = false;
  if (!has_db) {
    if (exists && !fs::is_empty(dir, ec)) {
      return Status::FailedPrecondition(fmt::format(
          "{} is not an event log: it is not a RocksDB directory (no CURRENT file)", dir));
    }
    if (!create) {
      return Status::NotFound(fmt::format("{} is not an event log: the directory is empty", dir));
    }
    fresh = true;
  }

  rocksdb::Options db_options = DbOptions();
  bool has_index_cf = fresh;
  if (!fresh) {
    std::vector<std::string> cfs;
    auto s = rocksdb::DB::ListColumnFamilies(db_options, dir, &cfs);
    if (!s.ok()) {
      return Status::FailedPrecondition(
          fmt::format("{} is not an event log: {}", dir, s.ToString()));
    }
    for (const char* want : {kEventsCf, kSnapshotsCf, kMetaCf}) {
      if (std::find(cfs.begin(), cfs.end(), want) == cfs.end()) {
        return Status::FailedPrecondition(fmt::format(
            "{} is a RocksDB database but not an event log (no '{}' column family)", dir, want));
      }
    }
    has_index_cf = std::find(cfs.begin(), cfs.end(), kIndexCf) != cfs.end();
  }
  if (fresh) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(fmt::format("creating {}: {}", dir, ec.message()));
    RS_RETURN_IF_ERROR(WriteFileSynced(creating.string()));
  }
  db_options.create_if_missing = fresh;
  // A writer adds the index column family to a log from before it.
  db_options.create_missing_column_families = writer;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : {kEventsCf, kSnapshotsCf, kMetaCf}) {
    descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  if (writer || has_index_cf) descs.emplace_back(kIndexCf, rocksdb::ColumnFamilyOptions());

  std::unique_ptr<EventLog> log(new EventLog());
  log->dir_ = dir;
  log->options_ = options;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  switch (options.mode) {
    case OpenMode::kReadWrite:
      s = rocksdb::DB::Open(db_options, dir, descs, &log->handles_, &raw);
      break;
    case OpenMode::kReadOnly:
      s = rocksdb::DB::OpenForReadOnly(db_options, dir, descs, &log->handles_, &raw);
      break;
    case OpenMode::kSecondary: {
      log->secondary_dir_ =
          (fs::temp_directory_path() / fmt::format("rs-eventlog-secondary-{}-{}", getpid(),
                                                   reinterpret_cast<uintptr_t>(log.get())))
              .string();
      s = rocksdb::DB::OpenAsSecondary(db_options, dir, log->secondary_dir_, descs, &log->handles_,
                                       &raw);
      break;
    }
  }
  if (!s.ok()) {
    if (writer && s.IsIOError()) {
      if (std::optional<pid_t> holder = LockHolder(dir)) {
        return Status::Unavailable(fmt::format(
            "event log {} is locked by another writer{}", dir,
            *holder == ::getpid() ? std::string(" in this process")
                                  : *holder > 0 ? fmt::format(" (process {})", *holder)
                                                : std::string()));
      }
    }
    return FromRocks(s, fmt::format("opening event log {}", dir));
  }
  log->db_.reset(raw);
  log->events_ = log->handles_[1];
  log->snapshots_ = log->handles_[2];
  log->meta_ = log->handles_[3];
  if (log->handles_.size() > 4) log->index_ = log->handles_[4];

  if (fresh) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    log->generation_ = NewGeneration();
    rocksdb::WriteBatch batch;
    batch.Put(log->meta_, std::string(kGenerationKey), log->generation_);
    batch.Put(log->meta_, std::string(kFormatKey), std::string(kFormatValue));
    batch.Put(log->meta_, std::string(kIndexKey), std::string(kIndexValue));
    RS_RETURN_IF_ERROR(
        FromRocks(log->db_->Write(wo, &batch), "writing the format marker and generation"));
    fs::remove(creating, ec);
    if (ec) return Status::IoError(fmt::format("removing {}: {}", creating.string(), ec.message()));
  } else {
    std::string marker;
    auto ms = log->db_->Get(rocksdb::ReadOptions(), log->meta_, std::string(kFormatKey), &marker);
    if (ms.IsNotFound()) {
      return Status::FailedPrecondition(
          fmt::format("{} is a RocksDB database but not an event log (no format marker)", dir));
    }
    RS_RETURN_IF_ERROR(FromRocks(ms, "reading the format marker"));
    if (marker != kFormatValue) {
      return Status::FailedPrecondition(
          fmt::format("{}: unsupported event log format '{}' (this binary reads '{}')", dir, marker,
                      kFormatValue));
    }
    auto gs = log->db_->Get(rocksdb::ReadOptions(), log->meta_, std::string(kGenerationKey),
                            &log->generation_);
    if (!gs.IsNotFound()) RS_RETURN_IF_ERROR(FromRocks(gs, "reading the generation"));
    // A restore asks for a new one; a log created before generations existed gets one now,
    // kept from here on.
    if (writer && (options.new_generation || gs.IsNotFound())) {
      const std::string old = gs.ok() ? log->generation_ : "none";
      log->generation_ = NewGeneration();
      rocksdb::WriteOptions wo;
      wo.sync = true;
      RS_RETURN_IF_ERROR(
          FromRocks(log->db_->Put(wo, log->meta_, std::string(kGenerationKey), log->generation_),
                    "writing the generation"));
      if (options.new_generation) {
        spdlog::info("event log {}: new generation {} (was {})", dir, log->generation_, old);
      } else {
        spdlog::info("event log {}: created before generations; its generation is now {}", dir,
                     log->generation_);
      }
    }
  }
  RS_RETURN_IF_ERROR(log->LoadBounds());
  log->ReadIndexMarker();
  if (writer) {
    log->indexer_ = std::make_unique<EventIndexer>(*log);
    if (!log->has_index()) RS_RETURN_IF_ERROR(log->BuildIndex());
  }
  if (options.check_every_record && log->last_seq() > 0) {
    if (log->first_seq() != 1) {
      return Status::Corruption(
          fmt::format("{}: the log starts at event {}, not 1", dir, log->first_seq()));
    }
    RS_RETURN_IF_ERROR(log->Scan(1, UINT64_MAX, [](const DecodedEvent&) { return true; }));
  }
  if (writer) {
    log->test_sync_delay_ = options.test_sync_delay;
    if (const char* delay = std::getenv("RS_TEST_LOG_SYNC_DELAY_MS"); delay && *delay) {
      log->test_sync_delay_ = std::chrono::milliseconds(std::strtoll(delay, nullptr, 10));
      spdlog::warn(
          "event log {}: test hook RS_TEST_LOG_SYNC_DELAY_MS: every fsync of the log waits "
          "{} ms first",
          dir, log->test_sync_delay_.count());
    }
    log->flusher_ = std::thread([l = log.get()] { l->FlushLoop(); });
  }
  return log;
}

EventLog::~EventLog() {
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(flush_mu_);
      stopping_ = true;
    }
    flush_cv_.notify_all();
    flusher_.join();
  }
  if (db_ && options_.mode == OpenMode::kReadWrite) {
    auto s = db_->SyncWAL();
    if (!s.ok()) spdlog::error("event log {}: final sync failed: {}", dir_, s.ToString());
    // Memtables to SST files, so the next open does not replay up to a memtable of WAL.
    rocksdb::FlushOptions fo;
    s = db_->Flush(fo, handles_);
    if (!s.ok()) spdlog::warn("event log {}: flush on close failed: {}", dir_, s.ToString());
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
  }
}

Status EventLog::LoadBounds() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToFirst();
  if (!it->Valid()) {
    RS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the first event"));
    first_seq_ = 0;
    last_seq_ = 0;
    return Status::Ok();
  }
  // The ends are checked at open; the middle is checked by every Scan (and by verify).
  auto check = [&](const char* which) -> Result<Seq> {
    Seq key = KeySeq(it->key());
    if (it->key().size() != 8) {
      return Status::Corruption(
          fmt::format("{}: {} event has a {}-byte key", dir_, which, it->key().size()));
    }
    auto d = DecodeEvent(std::string_view(it->value().data(), it->value().size()));
    if (!d.ok()) return d.status().WithContext(fmt::format("{}: event {}", dir_, key));
    if (d->event.seq != key) {
      return Status::Corruption(
          fmt::format("{}: event {} carries sequence {}", dir_, key, d->event.seq));
    }
    return key;
  };
  RS_ASSIGN_OR_RETURN(Seq first, check("first"));
  it->SeekToLast();
  if (!it->Valid()) return FromRocks(it->status(), "reading the last event");
  RS_ASSIGN_OR_RETURN(Seq last, check("last"));
  if (first == 0 || last < first) {
    return Status::Corruption(fmt::format("{}: bad sequence bounds {}..{}", dir_, first, last));
  }
  first_seq_ = first;
  last_seq_ = last;
  return Status::Ok();
}

Result<uint64_t> EventLog::WriteLocked(rocksdb::WriteBatch& batch, std::string_view what) {
  if (options_.mode != OpenMode::kReadWrite) {
    return Status::FailedPrecondition("event log opened read-only");
  }
  // Never sync=true here: RocksDB's write queue would hold every later writer behind the fsync.
  // Durability comes from SyncWAL, outside write_mu_ (SyncThrough).
  rocksdb::WriteOptions wo;
  wo.sync = false;
  RS_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), what));
  return ++written_;
}

Result<uint64_t> EventLog::WriteEventsLocked(std::vector<Event>& events, Durability durability) {
  rocksdb::WriteBatch batch;
  Seq seq = last_seq_.load();
  const int64_t now = NowMs();
  static const std::string kNoAddress;
  std::vector<IndexEntry> entries;
  for (Event& e : events) {
    e.seq = ++seq;
    if (e.time_ms == 0) e.time_ms = now;
    std::string bytes = EncodeEvent(e);
    batch.Put(events_, SeqKey(e.seq), bytes);
    Status st = indexer_->Add(e, RecordKind::kEvent, EventTag(e.payload), kNoAddress, &entries);
    if (!st.ok()) {
      indexer_->Forget();
      return st.WithContext(fmt::format("indexing event {}", e.seq));
    }
  }
  PutSorted(batch, index_, entries);
  auto ticket = WriteLocked(batch, fmt::format("appending event {}", events.front().seq));
  if (!ticket.ok()) {
    indexer_->Forget();  // It saw events that were not written.
    return ticket.status();
  }
  indexer_->Trim();
  if (first_seq_.load() == 0) first_seq_ = events.front().seq;
  {
    std::lock_guard lock(wait_mu_);
    last_seq_ = seq;
  }
  appended_.notify_all();
  if (durability == Durability::kGroup) {
    {
      std::lock_guard lock(flush_mu_);
      dirty_ = true;
    }
    flush_cv_.notify_one();
  }
  return *ticket;
}

Result<EventLog::Written> EventLog::Write(std::vector<Event> events, Durability durability) {
  Written w;
  if (events.empty()) return w;
  std::lock_guard lock(write_mu_);
  RS_ASSIGN_OR_RETURN(w.ticket, WriteEventsLocked(events, durability));
  w.events = std::move(events);
  return w;
}

Result<Seq> EventLog::Append(Event event, Durability durability) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  RS_ASSIGN_OR_RETURN(Seq last, AppendBatch(std::move(one), durability));
  return last;
}

Result<Seq> EventLog::AppendBatch(std::vector<Event> events, Durability durability) {
  if (events.empty()) return last_seq();
  RS_ASSIGN_OR_RETURN(Written w, Write(std::move(events), durability));
  if (durability == Durability::kSync) RS_RETURN_IF_ERROR(SyncThrough(w.ticket));
  return w.events.back().seq;
}

Status EventLog::Sync() {
  if (options_.mode != OpenMode::kReadWrite) return Status::Ok();
  return SyncThrough(written_.load());
}

Status EventLog::SyncThrough(uint64_t ticket) {
  std::unique_lock lock(sync_mu_);
  while (synced_ < ticket) {
    if (syncing_) {
      // It may have started before our write: wait, then look again.
      synced_cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    lock.unlock();
    // Every write counted in written_ has reached the OS, so this fsync covers it.
    const uint64_t target = written_.load();
    if (test_sync_delay_.count() > 0) std::this_thread::sleep_for(test_sync_delay_);
    rocksdb::Status s = db_->SyncWAL();
    lock.lock();
    syncing_ = false;
    if (s.ok()) synced_ = std::max(synced_, target);
    synced_cv_.notify_all();
    if (!s.ok()) return FromRocks(s, fmt::format("{}: syncing the event log", dir_));
  }
  return Status::Ok();
}

void EventLog::FlushLoop() {
  std::unique_lock lock(flush_mu_);
  while (!stopping_) {
    flush_cv_.wait(lock, [&] { return dirty_ || stopping_; });
    if (stopping_) break;
    // Let a burst gather, then one fsync covers all of it.
    flush_cv_.wait_for(lock, options_.group_commit_interval, [&] { return stopping_; });
    dirty_ = false;
    lock.unlock();
    Status s = SyncThrough(written_.load());
    if (!s.ok()) spdlog::error("event log {}: group commit sync failed: {}", dir_, s.ToString());
    lock.lock();
  }
}

Seq EventLog::WaitForSeq(Seq after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(wait_mu_);
  appended_.wait_for(lock, timeout, [&] { return last_seq_.load() > after; });
  return last_seq_.load();
}

Status EventLog::ScanRaw(Seq from, Seq to,
                         const std::function<bool(Seq, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
  for (it->Seek(SeqKey(from)); it->Valid(); it->Next()) {
    Seq seq = KeySeq(it->key());
    if (seq > to) break;
    if (!fn(seq, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), fmt::format("{}: reading events", dir_));
}

Status EventLog::ScanRawDescending(Seq from, Seq to,
                                   const std::function<bool(Seq, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  for (it->SeekForPrev(SeqKey(to)); it->Valid(); it->Prev()) {
    Seq seq = KeySeq(it->key());
    if (seq < from) break;
    if (!fn(seq, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), fmt::format("{}: reading events", dir_));
}

void EventLog::ReadIndexMarker() {
  if (index_ == nullptr) return;
  std::string marker;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_, std::string(kIndexKey), &marker);
  has_index_ = s.ok() && marker == kIndexValue;
}

Status EventLog::BuildIndex() {
  const auto start = std::chrono::steady_clock::now();
  spdlog::info("event log {}: building the history index of events {}..{} (one pass)", dir_,
               first_seq(), last_seq());
  rocksdb::WriteOptions wo;
  {
    // What an interrupted build (or an older version's index) left.
    rocksdb::WriteBatch clear;
    clear.DeleteRange(index_, rocksdb::Slice(""), rocksdb::Slice("\xff", 1));
    RS_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &clear), "clearing the history index"));
  }
  std::vector<IndexEntry> entries;
  uint64_t records = 0, undecodable = 0;
  Status error;
  auto flush = [&]() -> Status {
    rocksdb::WriteBatch batch;
    PutSorted(batch, index_, entries);
    entries.clear();
    RS_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "writing the history index"));
    indexer_->Trim();
    return Status::Ok();
  };
  RS_RETURN_IF_ERROR(ScanRaw(0, UINT64_MAX, [&](Seq seq, std::string_view bytes) {
    ++records;
    auto d = DecodeEvent(bytes);
    if (!d.ok() || d->event.seq != seq) {
      // Left out of the index; whoever reads it meets the same error.
      ++undecodable;
      return true;
    }
    error = indexer_->Add(d->event, d->kind, d->tag, d->address, &entries);
    if (error.ok() && records % kIndexBuildChunk == 0) error = flush();
    return error.ok();
  }));
  RS_RETURN_IF_ERROR(error.WithContext("building the history index"));
  RS_RETURN_IF_ERROR(flush());
  rocksdb::WriteOptions synced;
  synced.sync = true;
  RS_RETURN_IF_ERROR(FromRocks(
      db_->Put(synced, meta_, std::string(kIndexKey), std::string(kIndexValue)),
      "writing the index version"));
  has_index_ = true;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("event log {}: built the history index of {} records in {:.1f} s{}", dir_, records,
               secs,
               undecodable ? fmt::format(" ({} undecodable, left out)", undecodable) : "");
  return Status::Ok();
}

Status EventLog::ScanIndex(std::string_view prefix, Seq from, Seq to, bool descending,
                           const std::function<bool(Seq, std::string_view)>& fn) const {
  // A writer reads its own index while building it; readers only a complete one.
  if (index_ == nullptr || (!has_index() && indexer_ == nullptr)) {
    return Status::FailedPrecondition(fmt::format("{}: the log has no history index", dir_));
  }
  if (from > to) return Status::Ok();
  const std::string lower = std::string(prefix) + SeqKey(from);
  // Exclusive: just past prefix + SeqKey(to).
  const std::string upper = std::string(prefix) + SeqKey(to) + std::string(1, '\0');
  rocksdb::Slice lo(lower), hi(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lo;
  ro.iterate_upper_bound = &hi;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, index_));
  auto visit = [&]() {
    rocksdb::Slice k = it->key();
    if (k.size() != prefix.size() + 8) return true;  // Cannot happen: keys are prefix + seq.
    Seq seq = KeySeq(rocksdb::Slice(k.data() + prefix.size(), 8));
    return fn(seq, std::string_view(it->value().data(), it->value().size()));
  };
  if (descending) {
    for (it->SeekToLast(); it->Valid() && visit(); it->Prev()) {
    }
  } else {
    for (it->SeekToFirst(); it->Valid() && visit(); it->Next()) {
    }
  }
  return FromRocks(it->status(), fmt::format("{}: reading the history index", dir_));
}

Result<Seq> EventLog::LastIndexed(std::string_view prefix, Seq at) const {
  Seq found = 0;
  RS_RETURN_IF_ERROR(ScanIndex(prefix, 0, at, true, [&](Seq seq, std::string_view) {
    found = seq;
    return false;
  }));
  return found;
}

Status EventLog::Scan(Seq from, Seq to, const std::function<bool(const DecodedEvent&)>& fn) const {
  if (from < first_seq()) from = first_seq();
  Seq expect = from;
  Status error;
  RS_RETURN_IF_ERROR(ScanRaw(from, to, [&](Seq seq, std::string_view bytes) {
    if (seq != expect) {
      error = Status::Corruption(
          fmt::format("{}: gap in the event log: expected event {}, found {}", dir_, expect, seq));
      return false;
    }
    auto d = DecodeEvent(bytes);
    if (!d.ok()) {
      error = d.status().WithContext(fmt::format("{}: event {}", dir_, seq));
      return false;
    }
    if (d->event.seq != seq) {
      error = Status::Corruption(
          fmt::format("{}: event {} carries sequence {}", dir_, seq, d->event.seq));
      return false;
    }
    ++expect;
    return fn(*d);
  }));
  return error;
}

Result<DecodedEvent> EventLog::Read(Seq seq) const {
  std::string bytes;
  RS_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), events_, SeqKey(seq), &bytes),
                               fmt::format("{}: reading event {}", dir_, seq)));
  auto d = DecodeEvent(bytes);
  if (!d.ok()) return d.status().WithContext(fmt::format("{}: event {}", dir_, seq));
  return d;
}

Status EventLog::PutRaw(Seq seq, std::string_view bytes) {
  std::vector<std::pair<Seq, std::string>> one;
  one.emplace_back(seq, std::string(bytes));
  return PutRawBatch(one);
}

Status EventLog::PutRawBatch(const std::vector<std::pair<Seq, std::string>>& records) {
  if (records.empty()) return Status::Ok();
  rocksdb::WriteBatch batch;
  for (const auto& [seq, bytes] : records) batch.Put(events_, SeqKey(seq), bytes);
  uint64_t ticket = 0;
  {
    std::lock_guard lock(write_mu_);
    RS_ASSIGN_OR_RETURN(ticket, WriteLocked(batch, "rewriting events"));
  }
  return SyncThrough(ticket);
}

Status EventLog::SaveSnapshot(const ClusterState& state) {
  rocksdb::WriteBatch batch;
  batch.Put(snapshots_, SeqKey(state.last_seq), EncodeState(state));
  uint64_t ticket = 0;
  {
    std::lock_guard lock(write_mu_);  // Also orders the deletions against another SaveSnapshot.
    std::vector<Seq> seqs = SnapshotSeqs();
    if (seqs.empty() || seqs.back() != state.last_seq) seqs.push_back(state.last_seq);
    std::sort(seqs.begin(), seqs.end());
    for (size_t i = 0; i + options_.keep_snapshots < seqs.size(); ++i) {
      batch.Delete(snapshots_, SeqKey(seqs[i]));
    }
    RS_ASSIGN_OR_RETURN(
        ticket, WriteLocked(batch, fmt::format("saving the snapshot at event {}", state.last_seq)));
  }
  return SyncThrough(ticket);
}

std::vector<Seq> EventLog::SnapshotSeqs() const {
  std::vector<Seq> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(KeySeq(it->key()));
  return out;
}

Result<ClusterState> EventLog::ReadSnapshot(Seq seq) const {
  std::string bytes;
  RS_RETURN_IF_ERROR(FromRocks(db_->Get(rocksdb::ReadOptions(), snapshots_, SeqKey(seq), &bytes),
                               fmt::format("reading the snapshot at event {}", seq)));
  auto state = DecodeState(bytes);
  if (!state.ok()) return state.status().WithContext(fmt::format("snapshot at event {}", seq));
  if (state->last_seq != seq) {
    return Status::Corruption(
        fmt::format("snapshot at event {} says it is at event {}", seq, state->last_seq));
  }
  return state;
}

Status EventLog::CatchUp() {
  if (options_.mode != OpenMode::kSecondary) return Status::Ok();
  RS_RETURN_IF_ERROR(FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the writer"));
  Seq before = last_seq();
  {
    std::lock_guard lock(wait_mu_);  // So a waiter cannot miss the change.
    RS_RETURN_IF_ERROR(LoadBounds());
  }
  ReadIndexMarker();  // A writer may have built the index since.
  if (last_seq() != before) appended_.notify_all();
  return Status::Ok();
}

Status EventLog::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  RS_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                               fmt::format("{}: starting a checkpoint", dir_)));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir),
                   fmt::format("{}: checkpoint into {}", dir_, dir));
}

uint64_t EventLog::SizeOnDisk() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir_, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace rs::eventlog
