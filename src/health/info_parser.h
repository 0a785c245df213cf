// INFO / CLUSTER INFO text ("key:value" lines, "# Section" headers) → fields. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rs::health {

class InfoFields {
 public:
  // Never fails: lines without ':' and section headers are skipped.
  static InfoFields Parse(std::string_view text);
  // Adds the fields of another reply (INFO and CLUSTER INFO share one namespace).
  void Merge(const InfoFields& other);

  std::optional<std::string_view> Get(std::string_view key) const;
  std::optional<uint64_t> GetUint(std::string_view key) const;
  std::optional<double> GetDouble(std::string_view key) const;
  // Keys in db0 from the keyspace section ("db0:keys=3,expires=0,avg_ttl=0"); 0 when absent.
  uint64_t Db0Keys() const;

 private:
  std::map<std::string, std::string, std::less<>> fields_;
};

}  // namespace rs::health
