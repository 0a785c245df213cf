#include "discovery/file_source.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "discovery/member_file.h"

namespace rs::discovery {

FileSource::FileSource(uv_loop_t* loop, std::string path, SnapshotFn on_snapshot,
                       unsigned poll_interval_ms)
    : loop_(loop),
      path_(std::move(path)),
      on_snapshot_(std::move(on_snapshot)),
      poll_interval_ms_(poll_interval_ms) {}

FileSource::~FileSource() { assert(closed_); }

Status FileSource::Start() {
  if (started_) return Status::FailedPrecondition("file source already started");
  RS_RETURN_IF_ERROR(Reload());
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
          return;
        }
        Status s = self->Reload();
        if (!s.ok()) {
          spdlog::error("discovery {}: {}; keeping the last member list", self->Describe(),
                        s.ToString());
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
  if (have_text_ && text == last_text_) return Status::Ok();
  auto members = ParseMemberFile(text);
  if (!members.ok()) return members.status().WithContext(path_);
  last_text_ = std::move(text);
  have_text_ = true;
  on_snapshot_(std::move(*members));
  return Status::Ok();
}

}  // namespace rs::discovery
