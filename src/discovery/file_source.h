// The file discovery source: `--discovery file:PATH`, one `host:port [host-label]` per line. The
// file is re-read when its stat changes (uv_fs_poll, once a second by default): polling stat
// survives editors that save by writing a new file and renaming it over the old one, which an
// inotify watch on the old inode (uv_fs_event) would miss.
// Thread contract: owned by its libuv loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <uv.h>

#include "common/status.h"
#include "discovery/source.h"

namespace rs::discovery {

// Reporting whether the file is usable, for the event log's discovery status.
struct FileStatusOptions {
  // On each change (valid -> invalid and back), and at every Start that tolerated a bad file.
  SourceStatusFn on_status;
  bool usable_at_start = true;  // What the event log last said.
  // A member list is already recorded (in the event log): an unreadable or invalid file at Start
  // is then reported and tolerated, the recorded list staying in force, instead of failing Start.
  bool tolerate_invalid_at_start = false;
};

class FileSource {
 public:
  FileSource(uv_loop_t* loop, std::string path, SnapshotFn on_snapshot,
             unsigned poll_interval_ms = 1000, FileStatusOptions status = {});
  // Stop() must have been called and the loop run until its handle closed.
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Reads the file once and starts watching it. An unreadable or invalid file is an error here,
  // at startup, unless status.tolerate_invalid_at_start. Later errors are logged and reported,
  // and the last good member set stays in force: a file that is missing or half-written never
  // becomes an empty snapshot.
  Status Start();
  void Stop();
  std::string Describe() const { return "file:" + path_; }

 private:
  Status Reload();
  void Report(bool usable, std::string reason);

  uv_loop_t* loop_;
  std::string path_;
  SnapshotFn on_snapshot_;
  unsigned poll_interval_ms_;
  FileStatusOptions status_;
  bool usable_;
  uv_fs_poll_t poll_;
  bool started_ = false;
  bool closed_ = true;
  std::string last_text_;
  size_t last_count_ = 0;  // Members in last_text_.
  bool have_text_ = false;
};

// `--discovery static:...`: delivers its fixed list once, on the loop.
class StaticSource {
 public:
  StaticSource(std::vector<model::Member> members, SnapshotFn on_snapshot)
      : members_(std::move(members)), on_snapshot_(std::move(on_snapshot)) {}
  void Start() { on_snapshot_(members_); }
  std::string Describe() const { return "static"; }

 private:
  std::vector<model::Member> members_;
  SnapshotFn on_snapshot_;
};

}  // namespace rs::discovery
