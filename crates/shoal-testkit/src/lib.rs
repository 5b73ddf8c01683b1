//! Dev-only helpers for black-box tests: start `shoal-server` on an ephemeral port, find the
//! address it reports, kill it on drop; and a raw RESP connection for protocol tests.
//!
//! Talks to the binary like any client does; depends on nothing of shoal's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server gets to report its address.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A `shoal-server` child process.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    /// The server's own working directory (removed when it stops): a dump.rdb or nodes.conf
    /// left in the repository by a hand-run server must not be loaded by a test's server.
    workdir: std::path::PathBuf,
}

impl ServerProcess {
    /// Starts `bin --ephemeral-ports port --bind 127.0.0.1 <args>` (a free port the server
    /// picks) and waits for its "Ready to accept" line. Panics (failing the test) if it does not
    /// come within the deadline.
    pub fn start(bin: &str, args: &[&str]) -> ServerProcess {
        let mut all = vec!["--ephemeral-ports", "port", "--bind", "127.0.0.1"];
        all.extend_from_slice(args);
        Self::start_raw(bin, &all)
    }

    /// Starts `bin` with exactly `args`, in a working directory of its own.
    pub fn start_raw(bin: &str, args: &[&str]) -> ServerProcess {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let workdir = std::env::temp_dir().join(format!(
            "shoal-testkit-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&workdir)
            .unwrap_or_else(|e| panic!("cannot make {}: {e}", workdir.display()));
        let mut child = Command::new(bin)
            .args(args)
            .current_dir(&workdir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        for (stream, tx) in [
            (Box::new(stdout) as Box<dyn Read + Send>, tx.clone()),
            (Box::new(stderr), tx),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(a) = ready_addr(&line, "tcp").or_else(|| ready_addr(&line, "tls")) {
                        let _ = tx.send(a);
                    }
                    log.lock().expect("log lock").push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(START_DEADLINE) {
            Ok(a) => a.parse().unwrap_or_else(|_| panic!("bad address {a}")),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not report its address; log: {:?}",
                    log.lock().expect("log lock")
                );
            }
        };
        ServerProcess {
            child,
            addr,
            log,
            workdir,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address of the TLS listener (`Ready to accept connections tls addr=`), waiting a
    /// little for it to be logged; panics if there is none.
    pub fn tls_addr(&self) -> SocketAddr {
        let mut found = None;
        wait_until(Duration::from_secs(10), || {
            found = self
                .log()
                .iter()
                .rev()
                .find_map(|l| ready_addr(l, "tls"))
                .and_then(|a| a.parse().ok());
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no TLS listener logged; log: {:?}", self.log()))
    }

    /// `redis://127.0.0.1:port/`
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Lines the server logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends a signal by number (15 = TERM, 2 = INT) with the system `kill` command.
    pub fn signal(&self, sig: i32) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

/// The address of a "Ready to accept connections `kind` addr=..." log line.
fn ready_addr(line: &str, kind: &str) -> Option<String> {
    let key = format!("Ready to accept connections {kind} addr=");
    let pos = line.find(&key)?;
    // Stop at the first character an address cannot hold (JSON log lines).
    Some(
        line[pos + key.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
            .collect(),
    )
}

/// Polls `f` until it returns true or `timeout` passes. Returns whether it succeeded.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A raw TCP connection speaking bytes, for protocol and limit tests.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, b: &[u8]) {
        self.stream.write_all(b).expect("write");
    }

    /// Reads until `n` bytes are buffered (or the peer closes / times out); returns them.
    pub fn read_exact_n(&mut self, n: usize) -> Vec<u8> {
        let mut chunk = [0u8; 65536];
        while self.buf.len() < n {
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
            }
        }
        let take = n.min(self.buf.len());
        self.buf.drain(..take).collect()
    }

    /// Sends `req` and reads a reply of exactly `expected.len()` bytes, returned as text.
    pub fn roundtrip(&mut self, req: &[u8], expected_len: usize) -> String {
        self.send(req);
        String::from_utf8_lossy(&self.read_exact_n(expected_len)).into_owned()
    }

    /// True if the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    }

    /// Encodes a command as a RESP multibulk.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            v.extend_from_slice(a);
            v.extend_from_slice(b"\r\n");
        }
        v
    }
}
