// The web console's files (src/admin/web/*), embedded at build time by embed_assets.cmake.
// Thread contract: immutable data.
#pragma once

#include <cstddef>
#include <string_view>

namespace rs::admin {

struct WebAsset {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
  std::string_view etag;  // Quoted, from the content hash.
};

// nullptr when there is no such asset.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace rs::admin
