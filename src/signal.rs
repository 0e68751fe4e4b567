//! Ctrl-C and SIGTERM: one cancellation signal shared by every request in
//! flight and every wait, so that an interrupted run records what it was
//! doing and exits 130 (143 for SIGTERM).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::exit::ExitStatus;

/// A cancellation signal; cheap to clone.
#[derive(Clone)]
pub struct Cancel {
    tx: std::sync::Arc<watch::Sender<Option<ExitStatus>>>,
    rx: watch::Receiver<Option<ExitStatus>>,
}

impl Cancel {
    /// A signal that fires on SIGINT or SIGTERM. Call inside the runtime.
    pub fn on_signals() -> Cancel {
        let cancel = Cancel::never();
        let tx = std::sync::Arc::clone(&cancel.tx);
        tokio::spawn(async move {
            let status = wait_for_signal().await;
            let _ = tx.send(Some(status));
        });
        cancel
    }

    /// A signal that fires only through [`Cancel::fire`].
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(None);
        Cancel {
            tx: std::sync::Arc::new(tx),
            rx,
        }
    }

    /// Cancels from inside: a closed stdout stops the requests just as
    /// Ctrl-C does, but exits with `status`.
    pub fn fire(&self, status: ExitStatus) {
        self.tx.send_if_modified(|s| {
            if s.is_none() {
                *s = Some(status);
                true
            } else {
                false
            }
        });
    }

    /// The status to exit with, once cancelled.
    pub fn status(&self) -> Option<ExitStatus> {
        *self.rx.borrow()
    }

    /// Runs `fut` unless cancelled first.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, ()> {
        let mut rx = self.rx.clone();
        tokio::select! {
            out = fut => Ok(out),
            _ = rx.wait_for(Option::is_some) => Err(()),
        }
    }

    /// Sleeps unless cancelled first.
    pub async fn sleep(&self, d: Duration) -> Result<(), ()> {
        self.run(tokio::time::sleep(d)).await
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> ExitStatus {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return ExitStatus::Interrupted;
    };
    tokio::select! {
        _ = int.recv() => ExitStatus::Interrupted,
        _ = term.recv() => ExitStatus::Terminated,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> ExitStatus {
    let _ = tokio::signal::ctrl_c().await;
    ExitStatus::Interrupted
}
