// Placeholder until salvo serve lands (issue 6): no daemon, commands always run locally.
#include "tools/salvo/command.h"

namespace salvo {

std::optional<int> ForwardToDaemon(CommandContext& ctx, const std::string&) {
  (void)ctx;
  return std::nullopt;
}

}  // namespace salvo
