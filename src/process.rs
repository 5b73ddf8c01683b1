//! Process chores redis.conf asks for: `daemonize` and `pidfile`.

use std::path::PathBuf;

/// Detaches from the terminal as Redis does: fork (the parent exits), new session, standard
/// streams to /dev/null. Call before any thread starts.
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: called from main before the runtime, the tracing writer or any other thread
    // exists, so the child is a complete copy of a single-threaded process.
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain system calls on descriptors this process owns.
    unsafe {
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// The `pidfile`: written at start, removed when dropped (at exit).
pub struct PidFile(Option<PathBuf>);

impl PidFile {
    /// Writes the process id to `path` (nothing when empty). A failure is logged, as Redis does,
    /// and does not stop the server.
    pub fn create(path: &str) -> PidFile {
        if path.is_empty() {
            return PidFile(None);
        }
        match std::fs::write(path, format!("{}\n", std::process::id())) {
            Ok(()) => PidFile(Some(path.into())),
            Err(e) => {
                tracing::warn!("Failed to write PID file {path}: {e}");
                PidFile(None)
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}
