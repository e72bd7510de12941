// Placeholder: filled in by the issue that owns these commands.
#include <CLI/CLI.hpp>

#include "tools/salvo/command.h"

namespace salvo {

void RegisterSuppressCommands(CLI::App&, CommandContext&, int*) {}

}  // namespace salvo
