//! The async runtime every command that sends or serves starts, and the one `check` and
//! `replay` send on.

use crate::error::{Error, Result};
use crate::interrupt::Interrupts;

/// Runs `work` to its end on one thread, as `check` and `replay` send one request (or a few)
/// at a time, with the signals that stop it.
pub(crate) fn on_one_thread<T>(work: impl AsyncFnOnce(&Interrupts) -> T) -> Result<T> {
    let runtime = start(&mut tokio::runtime::Builder::new_current_thread())?;
    runtime.block_on(async {
        let interrupts = Interrupts::listen()
            .map_err(|e| Error::internal(format!("cannot listen for Ctrl-C: {e}")))?;
        Ok(work(&interrupts).await)
    })
}

/// Starts the async runtime `builder` describes; failing to is oa-hook's own fault (exit 4).
pub(crate) fn start(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

thread_local! {
    /// Which of [`Cores`] this thread is: 0 for the thread that started them (and any other).
    static CORE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Which of the [`Cores`] runs on this thread: 0 for the thread that started them, and for
/// every thread that is none of theirs.
pub(crate) fn core() -> usize {
    CORE.with(std::cell::Cell::get)
}

/// How many cores this process may run on, as the OS says (its CPU affinity and quota).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// One current-thread runtime per core, the caller's own runtime the first of them, as nginx
/// runs one event loop per worker process: work spawned on one of them stays on its thread,
/// with its sockets, timers and allocations, and wakes without a futex or an atomic shared
/// between cores.
pub(crate) struct Cores {
    /// The cores after the caller's: their runtimes, and how to stop them.
    others: Vec<Core>,
    /// The core the next [`Cores::next`] gives, 0 being the caller's.
    next: usize,
}

struct Core {
    handle: tokio::runtime::Handle,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Told when the core's runtime has stopped (or dropped, had it not started).
    stopped: tokio::sync::oneshot::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Cores {
    /// `count` runtimes in all (at least the caller's): one on a thread of its own, named
    /// `name`, for each after the caller's. One that cannot start leaves its share of the work
    /// to those that did ([`Cores::count`]).
    pub(crate) fn start(name: &str, count: usize) -> Self {
        let others = (1..count)
            .map_while(|index| Core::start(name, index))
            .collect();
        Cores { others, next: 0 }
    }

    /// How many runtimes there are, the caller's included.
    pub(crate) fn count(&self) -> usize {
        self.others.len() + 1
    }

    /// The runtime to spawn the next piece of work on, in turn; `None` for the caller's own.
    pub(crate) fn next(&mut self) -> Option<&tokio::runtime::Handle> {
        let core = self.next;
        self.next = (core + 1) % self.count();
        core.checked_sub(1).map(|other| &self.others[other].handle)
    }

    /// Stops every runtime after the caller's, dropping what is still spawned on them, and
    /// waits for their threads to end. Waited for, not blocked on: the caller's runtime goes on
    /// meanwhile, hearing its signals (a second Ctrl-C).
    pub(crate) async fn stop(self) {
        // All told first, so that they stop together.
        let stopping: Vec<_> = self
            .others
            .into_iter()
            .map(|core| {
                let _ = core.stop.send(());
                (core.stopped, core.thread)
            })
            .collect();
        for (stopped, thread) in stopping {
            let _ = stopped.await;
            // Its runtime is gone: the thread ends at once.
            let _ = thread.join();
        }
    }
}

impl Core {
    fn start(name: &str, index: usize) -> Option<Core> {
        let (stop, told_to_stop) = tokio::sync::oneshot::channel::<()>();
        let (has_stopped, stopped) = tokio::sync::oneshot::channel::<()>();
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                CORE.with(|core| core.set(index));
                let Ok(runtime) = start(&mut tokio::runtime::Builder::new_current_thread()) else {
                    return;
                };
                if tell.send(runtime.handle().clone()).is_ok() {
                    runtime.block_on(async {
                        let _ = told_to_stop.await;
                    });
                }
                // Its tasks are dropped here; blocking work still running (a host name being
                // resolved) is not waited for, as nothing waits for its result any more.
                runtime.shutdown_background();
                let _ = has_stopped.send(());
            })
            .ok()?;
        match told.recv() {
            Ok(handle) => Some(Core {
                handle,
                stop,
                stopped,
                thread,
            }),
            Err(_) => {
                let _ = thread.join();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn work_goes_to_each_core_in_turn_and_stays_on_its_thread() {
        let runtime = start(&mut tokio::runtime::Builder::new_current_thread()).unwrap();
        runtime.block_on(async {
            let mut cores = Cores::start("oa-hook test", cores());
            let count = cores.count();
            assert_eq!(count, super::cores(), "a runtime for every core");
            let mut ran = Vec::new();
            for _ in 0..2 * count {
                let work = async {
                    let before = (core(), std::thread::current().id());
                    tokio::task::yield_now().await;
                    assert_eq!(before, (core(), std::thread::current().id()));
                    before
                };
                ran.push(match cores.next() {
                    Some(other) => other.spawn(work).await.unwrap(),
                    None => tokio::spawn(work).await.unwrap(),
                });
            }
            let order: Vec<usize> = ran.iter().map(|&(core, _)| core).collect();
            assert_eq!(order, (0..count).chain(0..count).collect::<Vec<_>>());
            for (core, thread) in &ran {
                let same = ran.iter().filter(|(_, other)| other == thread);
                assert!(same.clone().all(|(other, _)| other == core));
                assert_eq!(same.count(), 2, "one thread per core");
            }
            assert_eq!(
                ran[0].1,
                std::thread::current().id(),
                "core 0 is the caller's"
            );
            cores.stop().await;
        });
    }

    #[test]
    fn stopping_the_cores_drops_what_still_runs_on_them() {
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let runtime = start(&mut tokio::runtime::Builder::new_current_thread()).unwrap();
        let mut cores = runtime.block_on(async { Cores::start("oa-hook test", 2) });
        let _ = cores.next();
        let dropped = Arc::new(AtomicBool::new(false));
        if let Some(other) = cores.next() {
            let held = Dropped(Arc::clone(&dropped));
            other.spawn(async move {
                let _held = held;
                std::future::pending::<()>().await;
            });
        } else {
            dropped.store(true, Ordering::Relaxed);
        }
        runtime.block_on(cores.stop());
        assert!(dropped.load(Ordering::Relaxed));
    }
}
