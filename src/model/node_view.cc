#include "model/node_view.h"

namespace rs::model {

std::string_view HealthName(Health h) {
  switch (h) {
    case Health::kUnknown:
      return "unknown";
    case Health::kUp:
      return "up";
    case Health::kSuspect:
      return "suspect";
    case Health::kDown:
      return "down";
  }
  return "?";
}

}  // namespace rs::model
