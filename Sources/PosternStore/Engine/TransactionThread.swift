import Foundation
import Synchronization

/// Runs an asynchronous transaction body to its end on the thread that holds an SQLite connection.
///
/// GRDB hands a connection to a closure that runs on its own dispatch queue, and the closure
/// cannot suspend; the store's statements are asynchronous (PostgreSQL's are round trips). The
/// body is started as a task whose executor is this thread: every job of it is run here, by this
/// loop, so the body's statements run on GRDB's queue as GRDB requires, in one transaction, and
/// the caller of `Store.write`/`read` waits by suspending (GRDB's async `write`/`read`), never by
/// holding a thread of its own. SQLite statements answer without suspending, so the loop only
/// runs jobs; it waits on its semaphore only if the body awaits something elsewhere (it does not:
/// nothing slow happens inside a transaction).
final class TransactionThread: TaskExecutor, @unchecked Sendable {
    private let jobs = Mutex<[UnownedJob]>([])
    /// Signalled once per job enqueued, and once when the body has ended.
    private let ready = DispatchSemaphore(value: 0)

    private init() {}

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        ready.signal()
    }

    /// Runs `body` on the calling thread (a GRDB queue's) and returns its result.
    static func run<T: Sendable>(_ body: sending @escaping () async throws -> T) throws -> T {
        let thread = TransactionThread()
        let outcome = Mutex<Result<T, any Error>?>(nil)
        Task(executorPreference: thread) {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            thread.ready.signal()
        }
        while true {
            thread.ready.wait()
            if let job = thread.jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                job.runSynchronously(on: thread.asUnownedTaskExecutor())
            } else if let result = outcome.withLock({ $0 }) {
                return try result.get()
            }
        }
    }
}

/// A value used on one thread only, carried into the body's task (GRDB's `Database`).
struct OneThread<Value>: @unchecked Sendable {
    let value: Value
}
