#include "eventlog/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <random>
#include <system_error>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

namespace rs::eventlog {
namespace fs = std::filesystem;
namespace {

constexpr const char* kEventsCf = "events";
constexpr const char* kSnapshotsCf = "snapshots";
constexpr const char* kMetaCf = "meta";

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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

// Whether some lock is held on dir/LOCK, RocksDB's lock file, and by which process (0 when the
// holder is this process or unknown). An open file description lock (F_OFD_GETLK) conflicts with
// RocksDB's fcntl lock even when this process holds it, so a second open in-process is seen too.
// RocksDB reports a held lock as a plain IOError, so the lock itself is what we ask.
std::optional<pid_t> LockHolder(const std::string& dir) {
  const std::string path = (fs::path(dir) / "LOCK").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  int rc = ::fcntl(fd, F_OFD_GETLK, &fl);
  ::close(fd);
  if (rc != 0 || fl.l_type == F_UNLCK) return std::nullopt;
  return fl.l_pid > 0 && fl.l_pid != ::getpid() ? fl.l_pid : 0;
}

}  // namespace

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
  }
  if (fresh) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError(fmt::format("creating {}: {}", dir, ec.message()));
    RS_RETURN_IF_ERROR(WriteFileSynced(creating.string()));
  }
  db_options.create_if_missing = fresh;
  db_options.create_missing_column_families = fresh;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : {kEventsCf, kSnapshotsCf, kMetaCf}) {
    descs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }

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
            *holder > 0 ? fmt::format(" (process {})", *holder) : std::string(" in this process")));
      }
    }
    return FromRocks(s, fmt::format("opening event log {}", dir));
  }
  log->db_.reset(raw);
  log->events_ = log->handles_[1];
  log->snapshots_ = log->handles_[2];
  log->meta_ = log->handles_[3];

  if (fresh) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    log->generation_ = NewGeneration();
    rocksdb::WriteBatch batch;
    batch.Put(log->meta_, std::string(kGenerationKey), log->generation_);
    batch.Put(log->meta_, std::string(kFormatKey), std::string(kFormatValue));
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
    if (gs.IsNotFound() && writer) {
      // A log created before generations existed gets one now, kept from here on.
      log->generation_ = NewGeneration();
      rocksdb::WriteOptions wo;
      wo.sync = true;
      RS_RETURN_IF_ERROR(
          FromRocks(log->db_->Put(wo, log->meta_, std::string(kGenerationKey), log->generation_),
                    "writing the generation"));
      spdlog::info("event log {}: created before generations; its generation is now {}", dir,
                   log->generation_);
    } else if (!gs.IsNotFound()) {
      RS_RETURN_IF_ERROR(FromRocks(gs, "reading the generation"));
    }
  }
  RS_RETURN_IF_ERROR(log->LoadBounds());
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
  for (Event& e : events) {
    e.seq = ++seq;
    if (e.time_ms == 0) e.time_ms = now;
    std::string bytes = EncodeEvent(e);
    batch.Put(events_, SeqKey(e.seq), bytes);
  }
  RS_ASSIGN_OR_RETURN(uint64_t ticket,
                      WriteLocked(batch, fmt::format("appending event {}", events.front().seq)));
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
  return ticket;
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
  if (last_seq() != before) appended_.notify_all();
  return Status::Ok();
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
