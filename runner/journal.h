// Journal: history.jsonl written as the test runs.
//
// Each op becomes one line. Buffer formats a line into memory; Flush hands every buffered line
// to the kernel with one write(2); Append is Buffer then Flush. A line that has been flushed is
// on disk as far as the controller's fate goes: a controller killed with SIGKILL leaves every
// flushed line (a torn last line at worst, which readers of a run directory drop). Lines still
// in the buffer die with the process.
//
// What the interpreter (runner/interpreter.cc) guarantees with it:
//   - every invocation is flushed before any worker is handed it, so a client never acts on an
//     op the file does not have (a SIGKILL never loses an invocation that may have happened);
//   - a completion may wait in the buffer until the next flush, which comes before the next
//     invocations are handed out, before the interpreter waits for anything (a completion, a
//     due time), and when Run returns: at most one turn of its loop;
//   - lines are written in the order they were recorded, so the file is always a prefix of the
//     history.
// So a SIGKILL can lose only the completions recorded in the last turn of the loop (microseconds
// of ops). Readers treat an invocation without completion as info (it may or may not have
// happened, at any time after its invocation), so checking what is left stays sound: a lost ok
// or fail makes the check less precise, never wrong.
//
// Used by one thread at a time (the holder of the interpreter's role).
#pragma once

#include <memory>
#include <string>

#include "core/op.h"
#include "core/status.h"

namespace faultline {

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const std::string& path, const Json& header);
  // Flushes what is buffered (errors are lost; call Close to see them).
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Formats the op's line into the buffer; nothing reaches the kernel yet.
  void Buffer(const Op& op);
  // Writes every buffered line with one write(2) (more only after a short write). Nothing to do
  // when the buffer is empty. On an error the buffered lines are dropped with it.
  Status Flush();
  // Buffer, then Flush: the line (and any buffered before it) is in the kernel on return.
  Status Append(const Op& op);
  bool has_buffered() const { return !buffer_.empty(); }
  // Flushes, then closes the file.
  Status Close();
  const std::string& path() const { return path_; }
  // write(2) calls made for ops so far (the header's not counted).
  int64_t writes() const { return writes_; }

 private:
  Journal(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status WriteAll(const std::string& bytes);

  int fd_;
  std::string path_;
  std::string buffer_;  // lines not yet written; keeps its capacity between flushes
  int64_t writes_ = 0;
};

}  // namespace faultline
