#include "discovery/file_source.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "discovery/member_file.h"

namespace rs::discovery {

FileSource::FileSource(uv_loop_t* loop, std::string path, SnapshotFn on_snapshot,
                       unsigned poll_interval_ms, FileStatusOptions status)
    : loop_(loop),
      path_(std::move(path)),
      on_snapshot_(std::move(on_snapshot)),
      poll_interval_ms_(poll_interval_ms),
      status_(std::move(status)),
      usable_(status_.usable_at_start) {}

FileSource::~FileSource() { assert(closed_); }

void FileSource::Report(bool usable, std::string reason) {
  usable_ = usable;
  if (status_.on_status) status_.on_status(usable, std::move(reason));
}

Status FileSource::Start() {
  if (started_) return Status::FailedPrecondition("file source already started");
  if (Status s = Reload(); !s.ok()) {
    if (!status_.tolerate_invalid_at_start) return s;
    // A typo nobody noticed must not stop the next restart: the members recorded in the event
    // log stay wanted until the file is fixed (it is re-read when it changes).
    spdlog::error(
        "discovery {}: {}; STARTING WITH THE MEMBERSHIP RECORDED IN THE EVENT LOG instead: no "
        "member is added or removed until the file is fixed (it is re-read when it changes)",
        Describe(), s.ToString());
    Report(false, fmt::format("members file unusable at start: {}; using the membership recorded "
                              "in the event log until it is fixed",
                              s.message()));
  }
  uv_fs_poll_init(loop_, &poll_);
  poll_.data = this;
  closed_ = false;
  started_ = true;
  int rc = uv_fs_poll_start(
      &poll_,
      [](uv_fs_poll_t* p, int status, const uv_stat_t*, const uv_stat_t*) {
        auto* self = static_cast<FileSource*>(p->data);
        if (status < 0) {
          spdlog::warn("discovery {}: {}; keeping the last member list", self->Describe(),
                       uv_strerror(status));
          if (self->usable_) {
            self->Report(false, fmt::format("members file unusable: {}: {}; keeping the last "
                                            "member list until it is fixed",
                                            self->path_, uv_strerror(status)));
          }
          return;
        }
        Status s = self->Reload();
        if (!s.ok()) {
          spdlog::error("discovery {}: {}; keeping the last member list", self->Describe(),
                        s.ToString());
          if (self->usable_) {
            self->Report(false, fmt::format("members file unusable: {}; keeping the last member "
                                            "list until it is fixed",
                                            s.message()));
          }
        }
      },
      path_.c_str(), poll_interval_ms_);
  if (rc != 0) return Status::IoError(fmt::format("watch {}: {}", path_, uv_strerror(rc)));
  return Status::Ok();
}

void FileSource::Stop() {
  if (!started_ || closed_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_),
           [](uv_handle_t* h) { static_cast<FileSource*>(h->data)->closed_ = true; });
}

Status FileSource::Reload() {
  // A few hundred bytes: a blocking read on the loop costs less than the async plumbing.
  std::ifstream in(path_);
  if (!in) return Status::IoError(fmt::format("cannot read {}", path_));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (!have_text_ || text != last_text_) {
    auto members = ParseMemberFile(text);
    if (!members.ok()) return members.status().WithContext(path_);
    last_text_ = std::move(text);
    have_text_ = true;
    last_count_ = members->size();
    on_snapshot_(std::move(*members));
  }
  // Also when a bad edit was reverted to the last good text.
  if (!usable_) Report(true, fmt::format("members file valid: {} members", last_count_));
  return Status::Ok();
}

}  // namespace rs::discovery
