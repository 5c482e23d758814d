//! The per-run directory on the host: the results socket the container writes datagrams to,
//! and the FIFO that carries a binary message into it. Both are bind-mounted single files, so
//! the container sees nothing else of the host.

use std::{
    os::{fd::AsFd, unix::fs::PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use bytes::Bytes;
use tempfile::TempDir;
use tokio::{io::AsyncWriteExt, net::UnixDatagram, net::unix::pipe};
use tokio_util::sync::CancellationToken;

use super::RunError;

/// Where the results socket appears inside the container.
pub const RESULTS_SOCKET: &str = "/_abaco_results.sock";
/// Where the binary message FIFO appears inside the container.
pub const BINARY_FIFO: &str = "/_abaco_binary_data";

/// Larger than the kernel's default datagram limit, so a datagram is never cut by us.
const MAX_DATAGRAM: usize = 256 * 1024;
/// `ENXIO` on Linux: opening a FIFO for writing without blocking while no reader has it open.
const ENXIO: i32 = 6;
/// How often the FIFO writer looks for the container's reader.
const FIFO_POLL: Duration = Duration::from_millis(10);

/// The host side of one run's socket and FIFO; removed from disk when dropped.
#[derive(Debug)]
pub struct RunDir {
    dir: TempDir,
    socket: Option<UnixDatagram>,
    fifo: Option<PathBuf>,
}

impl RunDir {
    /// Creates the directory under `base`, binds the results socket and, when asked, makes
    /// the FIFO. Modes are opened up because the container's user need not be root.
    pub async fn create(base: &Path, with_fifo: bool) -> Result<Self, RunError> {
        let dir = tempfile::Builder::new()
            .prefix("abaco-run-")
            .tempdir_in(base)?;
        let socket_path = dir.path().join("results.sock");
        let socket = UnixDatagram::bind(&socket_path)?;
        std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o666))?;
        let fifo = if with_fifo {
            let path = dir.path().join("binary_data");
            // std has no mkfifo and unsafe code is denied; the coreutils tool does it.
            let status = tokio::process::Command::new("mkfifo")
                .arg("-m")
                .arg("0644")
                .arg(&path)
                .status()
                .await?;
            if !status.success() {
                return Err(RunError::Io(std::io::Error::other(format!(
                    "mkfifo {} failed: {status}",
                    path.display()
                ))));
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
            Some(path)
        } else {
            None
        };
        Ok(Self {
            dir,
            socket: Some(socket),
            fifo,
        })
    }

    /// Docker bind specifications for the container.
    pub fn binds(&self) -> Vec<String> {
        let mut binds = vec![format!(
            "{}:{RESULTS_SOCKET}",
            self.dir.path().join("results.sock").display()
        )];
        if let Some(fifo) = &self.fifo {
            binds.push(format!("{}:{BINARY_FIFO}:ro", fifo.display()));
        }
        binds
    }

    /// The results socket, once.
    pub fn take_socket(&mut self) -> Option<UnixDatagram> {
        self.socket.take()
    }

    /// The FIFO's host path, if the run has one.
    pub fn fifo(&self) -> Option<&Path> {
        self.fifo.as_deref()
    }
}

/// What the container sent to its results socket.
#[derive(Debug, Default)]
pub struct Collected {
    /// Datagrams kept, in arrival order.
    pub datagrams: Vec<Bytes>,
    /// Bytes dropped because the cap was reached.
    pub dropped_bytes: usize,
}

/// Keeps datagrams up to a cap of bytes in total, counting what it drops.
#[derive(Debug)]
pub struct ResultsKeeper {
    cap: usize,
    kept: usize,
    collected: Collected,
    buf: Vec<u8>,
}

impl ResultsKeeper {
    /// Keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            kept: 0,
            collected: Collected::default(),
            buf: vec![0u8; MAX_DATAGRAM],
        }
    }

    fn keep(&mut self, len: usize) {
        let datagram = &self.buf[..len];
        if self.kept.saturating_add(len) <= self.cap {
            self.kept += len;
            self.collected
                .datagrams
                .push(Bytes::copy_from_slice(datagram));
        } else {
            self.collected.dropped_bytes = self.collected.dropped_bytes.saturating_add(len);
        }
    }

    /// Takes the next datagram from `socket` (cancel-safe: a datagram is either kept or
    /// still queued).
    pub async fn receive(&mut self, socket: &UnixDatagram) -> std::io::Result<()> {
        let len = socket.recv(&mut self.buf).await?;
        self.keep(len);
        Ok(())
    }

    /// Takes what is already queued on `socket`, asking the kernel itself: tokio's
    /// `try_recv` answers "would block" until its reactor has seen the socket turn readable,
    /// so a datagram sent just before a done line or an exit could be left behind.
    pub fn drain(&mut self, socket: &UnixDatagram) {
        let queued = match socket.as_fd().try_clone_to_owned() {
            // The duplicate shares the socket's non-blocking mode: an empty queue ends this.
            Ok(fd) => std::os::unix::net::UnixDatagram::from(fd),
            Err(error) => {
                tracing::warn!(%error, "results socket not duplicated; taking what tokio saw");
                while let Ok(len) = socket.try_recv(&mut self.buf) {
                    self.keep(len);
                }
                return;
            }
        };
        while let Ok(len) = queued.recv(&mut self.buf) {
            self.keep(len);
        }
    }

    /// What was kept and dropped.
    pub fn finish(self) -> Collected {
        self.collected
    }
}

/// Reads datagrams until `done`, then drains what is already queued (a container that sends
/// and exits at once must not lose its last results), keeping at most `cap` bytes in total.
pub async fn collect_results(
    socket: UnixDatagram,
    cap: usize,
    done: CancellationToken,
) -> Collected {
    let mut keeper = ResultsKeeper::new(cap);
    loop {
        tokio::select! {
            received = keeper.receive(&socket) => if let Err(error) = received {
                tracing::warn!(%error, "results socket failed");
                return keeper.finish();
            },
            () = done.cancelled() => break,
        }
    }
    keeper.drain(&socket);
    keeper.finish()
}

/// Writes `data` into the FIFO once the container opens it for reading. Polling a
/// non-blocking open instead of a blocking one keeps this an ordinary task that the run can
/// abort whenever it ends, whether or not the container ever reads.
pub async fn feed_fifo(path: PathBuf, data: Bytes) {
    let mut sender = loop {
        match pipe::OpenOptions::new().open_sender(&path) {
            Ok(sender) => break sender,
            Err(error) if error.raw_os_error() == Some(ENXIO) => {
                tokio::time::sleep(FIFO_POLL).await;
            }
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cannot open the binary FIFO");
                return;
            }
        }
    };
    if let Err(error) = sender.write_all(&data).await {
        // The container closed its end early; that is its business, not a worker fault.
        tracing::debug!(%error, "binary FIFO closed before all bytes were read");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A current-thread runtime that never yields: its reactor never sees the datagrams
    /// arrive, as on a busy worker where the done line wins the race.
    #[tokio::test(flavor = "current_thread")]
    async fn drain_takes_datagrams_the_reactor_has_not_seen_yet() {
        let (ours, theirs) = UnixDatagram::pair().unwrap();
        theirs.try_send(b"first").unwrap();
        theirs.try_send(b"second").unwrap();
        let mut keeper = ResultsKeeper::new(1024);
        keeper.drain(&ours);
        let collected = keeper.finish();
        assert_eq!(collected.datagrams, vec![&b"first"[..], &b"second"[..]]);
        // What was taken is gone from the socket: a later drain finds nothing twice.
        let mut again = ResultsKeeper::new(1024);
        again.drain(&ours);
        assert!(again.finish().datagrams.is_empty());
    }
}
