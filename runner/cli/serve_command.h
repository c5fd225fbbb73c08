// `faultline serve`: the results browser, an HTTP server over the run store (cpp-httplib, from
// Debian's libcpp-httplib-dev). Pages (reports/browser.h):
//   /                               the runs, newest first: ?verdict=valid|invalid|unknown,
//                                   ?test=SUBSTRING, ?page=N
//   /store/<path>                   a file of the store, or a folder's listing; only strictly
//                                   inside the store (reports::OpenStoreFile), 404 otherwise
//   /archive/<test>/<run>.tar.gz    the run's folder as a gzipped tar, streamed from `tar`
// It binds only to --host (127.0.0.1 by default) and serves until SIGINT or SIGTERM, then stops
// accepting, finishes the requests under way and returns 0. Once listening it prints one line,
// "faultline serve: http://HOST:PORT/ ...", with the real port (--port 0 picks a free one).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <iosfwd>
#include <string>

namespace faultline::cli {

struct ServeArguments {
  std::string store = "store";
  std::string host = "127.0.0.1";
  int port = 8080;
  size_t page_size = 50;  // runs per page of the index
};

CLI::App* AddServeCommand(CLI::App& app, ServeArguments& arguments);

// Serves until SIGINT or SIGTERM (blocked in the calling thread and every thread it starts, and
// waited for). 0 after such a stop; 254 for a store that is not a folder or an address it cannot
// listen on.
int RunServeCommand(const ServeArguments& arguments, std::ostream& out, std::ostream& err);

}  // namespace faultline::cli
