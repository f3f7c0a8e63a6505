//! The single writer: a dedicated thread owns the read-write connection and runs jobs sent to
//! it in order, so async tasks never block on SQLite and writes never contend with each other.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::Store;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// Returned when the writer thread is gone (shut down, or it panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the library writer has stopped")]
pub struct WriterStopped;

/// A cheap, cloneable handle to the writer thread.
#[derive(Clone)]
pub struct StoreWriter {
    jobs: mpsc::Sender<Job>,
}

impl StoreWriter {
    /// Move `store` onto its own thread. The thread ends when every handle is dropped.
    pub fn spawn(mut store: Store) -> std::io::Result<(StoreWriter, JoinHandle<()>)> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                for job in inbox {
                    job(&mut store);
                }
            })?;
        Ok((StoreWriter { jobs }, thread))
    }

    /// Run `f` on the writer thread and await its result without blocking the runtime.
    pub async fn run<R, F>(&self, f: F) -> Result<R, WriterStopped>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        self.submit(f)?.await.map_err(|_| WriterStopped)
    }

    /// Run `f` on the writer thread from synchronous code and wait for its result.
    pub fn run_blocking<R, F>(&self, f: F) -> Result<R, WriterStopped>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        self.submit(f)?.blocking_recv().map_err(|_| WriterStopped)
    }

    fn submit<R, F>(&self, f: F) -> Result<oneshot::Receiver<R>, WriterStopped>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            // The caller may have stopped waiting; the write still happened.
            let _ = reply.send(f(store));
        });
        self.jobs.send(job).map_err(|_| WriterStopped)?;
        Ok(answer)
    }
}
