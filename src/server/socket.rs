//! What a client connection needs from its socket, for TCP and Unix-domain sockets alike: the
//! connection code is written once, over [`Socket`].

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use bytes::BufMut;
use tokio::io::Interest;

pub trait Socket: AsFd + Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R>;
    fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize>;
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Bytes `try_write` accepted that are not on the wire yet (TLS records the socket did not
    /// take); `try_write(&[])` sends them. A plain socket has none.
    #[inline]
    fn has_pending_write(&self) -> bool {
        false
    }
}

/// Writes all of `data` (and what the socket still holds back), waiting while it is full.
pub async fn send_all<S: Socket>(stream: &S, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() || stream.has_pending_write() {
        match stream.try_write(data) {
            Ok(0) if !data.is_empty() => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

macro_rules! socket {
    ($t:ty) => {
        impl Socket for $t {
            #[inline]
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }
            #[inline]
            fn try_io<R>(
                &self,
                interest: Interest,
                f: impl FnOnce() -> io::Result<R>,
            ) -> io::Result<R> {
                <$t>::try_io(self, interest, f)
            }
            #[inline]
            fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
                <$t>::try_read_buf(self, buf)
            }
            #[inline]
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$t>::try_read(self, buf)
            }
            #[inline]
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
            fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
                <$t>::readable(self)
            }
            fn writable(&self) -> impl Future<Output = io::Result<()>> + Send {
                <$t>::writable(self)
            }
        }
    };
}

socket!(tokio::net::TcpStream);
socket!(tokio::net::UnixStream);
