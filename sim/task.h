// Task<T>: the coroutine type every simulated context (kernel thread, IRQ,
// worker, userspace thread) and every model function that may reach a
// scheduling point is written in.
//
// A Task is lazy: it starts when awaited (or when the Scheduler starts it as a
// root task). On completion it transfers control straight back to whoever
// awaited it (symmetric transfer), so a call chain of model functions behaves
// like a kernel call stack: when the innermost function reaches a scheduling
// point the whole chain is suspended, and the Scheduler later resumes exactly
// that innermost frame.
//
// Exceptions are not used inside the simulated world: a model assertion is a
// reported violation (see sim/violation.h), never a throw.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

namespace xfsim::sim {

namespace detail {

// Coroutine frames are allocated and freed by the hundred per schedule; a
// per-thread free list per 64-byte size class takes that off malloc. Frames
// larger than the largest class go to the global heap.
class FramePool {
 public:
  static void* allocate(std::size_t size) {
    const std::size_t cls = (size + kGranule - 1) / kGranule;
    if (cls >= kClasses) return ::operator new(size);
    Node*& head = heads()[cls];
    if (head == nullptr) return ::operator new(cls* kGranule);
    Node* node = head;
    head = node->next;
    return node;
  }
  static void release(void* pointer, std::size_t size) {
    const std::size_t cls = (size + kGranule - 1) / kGranule;
    if (cls >= kClasses) {
      ::operator delete(pointer);
      return;
    }
    Node* node = static_cast<Node*>(pointer);
    node->next = heads()[cls];
    heads()[cls] = node;
  }

 private:
  struct Node {
    Node* next;
  };
  static constexpr std::size_t kGranule = 64;
  static constexpr std::size_t kClasses = 64;  // frames up to 4 KiB
  static Node** heads() {
    thread_local Node* lists[kClasses] = {};
    return lists;
  }
};

struct PromiseBase {
  static void* operator new(std::size_t size) { return FramePool::allocate(size); }
  static void operator delete(void* pointer, std::size_t size) { FramePool::release(pointer, size); }

  std::coroutine_handle<> continuation;

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  // The model never throws; an escaping exception is a harness bug.
  void unhandled_exception() noexcept { std::abort(); }
};

// What a coroutine returns: a value (return_value) or nothing (return_void).
template <typename T>
struct ResultSlot {
  T value{};
  void return_value(T v) { value = std::move(v); }
};
template <>
struct ResultSlot<void> {
  void return_void() {}
};

}  // namespace detail

// One class for Task<T> and Task<void>: they differ only in the promise's
// result slot and in what await_resume hands back.
template <typename T = void>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase, detail::ResultSlot<T> {
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }
  T await_resume() noexcept(std::is_void_v<T>) {
    if constexpr (!std::is_void_v<T>) return std::move(handle_.promise().value);
  }

  std::coroutine_handle<promise_type> release() { return std::exchange(handle_, {}); }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  void reset() {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

// A Task<void> frame carries no result slot: the pool's size classes are as
// they were when Task<void> was a class of its own.
static_assert(sizeof(Task<>::promise_type) == sizeof(detail::PromiseBase));

}  // namespace xfsim::sim
