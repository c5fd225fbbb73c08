// `--config FILE` on `test` and `test-all`: a test described in a JSON file, for a CI job to keep
// in its repository. The file is one object whose keys are the long flags without their dashes
// and whose values are what the flags take:
//   {"db": "exec", "client-command": "python3 client.py", "nemesis": "kill", "time-limit": 60,
//    "checker": ["linearizable", "session"], "local": true}
// Strings, numbers and booleans give a flag once; an array gives a repeatable flag several
// times. The file's flags are placed where --config stood, so flags after it on the command line
// win (a flag given twice takes its last value) and repeatable ones add up.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace faultline::cli {

// The arguments with each `--config FILE` (or `--config=FILE`) replaced by the file's flags, as
// `--key=value` words. ParseError naming the file, line and column for a malformed file, or the
// key whose value is not a scalar or an array of scalars; IoError when it cannot be read.
Result<std::vector<std::string>> ExpandConfigFiles(const std::vector<std::string>& arguments);

}  // namespace faultline::cli
