// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The host language's interpreter lock (Python's GIL) as the runtime core sees it; the bindings
// install the implementation once (InstallInterpreterLock). Without one installed (C++ tests),
// every type here is a no-op.
//
// Why: a dispatcher that runs a batch of turns or activities would otherwise take and give up
// the lock once per user-code call, and every hand-off between the dispatcher threads and the
// application's own threads costs a wake-up and often a wait behind another thread. A
// BatchHold keeps the lock for the whole batch (one hand-off per batch); the C++ work between
// the calls is short and never blocks, because every call that may block (the store, waiting
// for another thread) is wrapped in a BlockingSection, which gives the lock up for its
// duration. So the core still never blocks Python: it holds the lock only while it runs user
// code or the few microseconds of bookkeeping between two user-code calls.
#ifndef DUROXIDE_RUNTIME_INTERPRETER_LOCK_H_
#define DUROXIDE_RUNTIME_INTERPRETER_LOCK_H_

namespace duroxide::runtime {

class InterpreterLock {
 public:
  virtual ~InterpreterLock() = default;
  // Takes the lock for this thread; false when the interpreter is gone (nothing taken).
  virtual bool Acquire() = 0;
  virtual void Release() = 0;
  // While this thread holds the lock: gives it up and returns what Resume needs.
  virtual void* Suspend() = 0;
  virtual void Resume(void* token) = 0;
};

// Installs the process's interpreter lock (once, before any runtime starts; never removed).
void InstallInterpreterLock(InterpreterLock* lock);

// Holds the interpreter lock for a batch of user-code calls on this thread (if installed and
// `enabled`). Not reentrant: one per thread at a time.
class BatchHold {
 public:
  explicit BatchHold(bool enabled);
  ~BatchHold();
  BatchHold(const BatchHold&) = delete;
  BatchHold& operator=(const BatchHold&) = delete;

 private:
  bool held_ = false;
};

// Gives the lock up while this thread runs something that may block, if a BatchHold of this
// thread holds it; otherwise does nothing.
class BlockingSection {
 public:
  BlockingSection();
  ~BlockingSection();
  BlockingSection(const BlockingSection&) = delete;
  BlockingSection& operator=(const BlockingSection&) = delete;

 private:
  void* token_ = nullptr;
  bool suspended_ = false;
};

// Runs `f` (which may block) inside a BlockingSection and returns its result.
template <typename F>
auto WhileBlocking(F&& f) -> decltype(f()) {
  BlockingSection section;
  return f();
}

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_INTERPRETER_LOCK_H_
