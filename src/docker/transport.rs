//! The way to the Engine: one HTTP/1.1 connection per request (unix socket or plain TCP),
//! read through a [`Guard`] that bounds what one response may make us hold.
//!
//! bollard gathers a whole answer (`inspect`, `ps`) in memory, and its stream decoders hold a
//! log frame or an event line until it is complete: an Engine (or anything at `DOCKER_HOST`)
//! that sends an endless body would take all memory. The guard follows the response as it
//! arrives (head, chunked or plain body, Docker's log frames or JSON lines) and fails the
//! read with a one-line reason past [`MAX_BODY`] for an answer, [`MAX_ITEM`] for a log frame
//! or [`MAX_LINE`] for a line of a stream; streams themselves may run forever (`watch` follows logs and events).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bollard::BollardRequest;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::input::source::{approx, size};

/// The largest answer that is not a stream (`inspect`, `ps`, `version`): a container's
/// inspect is a few KiB, `ps -a` of thousands of containers a few MiB.
pub(crate) const MAX_BODY: u64 = 32 * 1024 * 1024;

/// The largest log frame of a stream (Docker cuts log lines at 16 KiB).
pub(crate) const MAX_ITEM: u64 = 16 * 1024 * 1024;

/// The longest raw (tty) log line or event line: bollard looks for the line's end from its
/// start each time more of it arrives, so a long line costs time by the square of its length
/// (an endless one at 16 MiB: 7.7 s; at 1 MiB, a few ms). The analyzer cuts lines at 64 KiB.
pub(crate) const MAX_LINE: u64 = 1024 * 1024;

/// The largest response head.
const MAX_HEAD: usize = 64 * 1024;

/// Why a guard stopped a read, the first time one did. bollard turns a stream's read error
/// into the text of hyper's (`error reading a body from connection`), which drops the reason;
/// [`Error`](super::Error) looks it up here.
static TRIPPED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Why a guard stopped a read, if one did.
pub(crate) fn tripped() -> Option<String> {
    TRIPPED.lock().ok()?.clone()
}

/// Where the Engine listens.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A unix socket.
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

/// What a request comes to: the response, its body still to read.
type Answer =
    Pin<Box<dyn Future<Output = Result<hyper::Response<Incoming>, bollard::errors::Error>> + Send>>;

/// A bollard transport over `target`, each response read through a [`Guard`].
pub(crate) fn transport(target: Target) -> impl Fn(BollardRequest) -> Answer + Send + Sync {
    move |req: BollardRequest| -> Answer {
        let target = target.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let kind = Kind::of(parts.uri.path());
            // Origin-form for the wire; the Engine ignores the host.
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
            parts.uri = path.parse().map_err(bollard::errors::Error::from)?;
            parts
                .headers
                .insert(hyper::header::HOST, hyper::header::HeaderValue::from_static("docker"));
            let req = hyper::Request::from_parts(parts, body);
            let io = |err| bollard::errors::Error::IOError { err };
            let guarded = match &target {
                #[cfg(unix)]
                Target::Unix(p) => {
                    Stream::Unix(tokio::net::UnixStream::connect(p).await.map_err(io)?)
                }
                #[cfg(not(unix))]
                Target::Unix(_) => return Err(io(io::Error::from(io::ErrorKind::Unsupported))),
                Target::Tcp(a) => Stream::Tcp(tokio::net::TcpStream::connect(a).await.map_err(io)?),
            };
            let guarded = Guarded { inner: guarded, guard: Guard::new(kind) };
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(guarded))
                .await
                .map_err(bollard::errors::Error::from)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender.send_request(req).await.map_err(bollard::errors::Error::from)
        })
    }
}

enum Stream {
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

/// A connection whose reads go through a [`Guard`].
struct Guarded {
    inner: Stream,
    guard: Guard,
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.inner {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        };
        if let Poll::Ready(Ok(())) = polled {
            if let Err(why) = this.guard.feed(&buf.filled()[before..]) {
                if let Ok(mut t) = TRIPPED.lock() {
                    t.get_or_insert_with(|| why.clone());
                }
                return Poll::Ready(Err(io::Error::other(why)));
            }
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// What a response body holds, from the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One answer, gathered whole.
    Answer,
    /// `/containers/{id}/logs`: Docker's 8-byte-header frames, or raw lines (tty).
    Logs,
    /// `/events`: JSON lines.
    Events,
}

impl Kind {
    fn of(path: &str) -> Kind {
        if path.ends_with("/logs") {
            Kind::Logs
        } else if path.ends_with("/events") {
            Kind::Events
        } else {
            Kind::Answer
        }
    }
}

/// Where the guard is in the response.
#[derive(Debug)]
enum Part {
    /// The head, so far.
    Head(Vec<u8>),
    /// A chunk-size line, so far.
    ChunkSize(Vec<u8>),
    /// Chunk data still to come.
    ChunkData(u64),
    /// The CRLF after chunk data: bytes still to skip.
    ChunkEnd(u8),
    /// The rest is body (no chunking), or the last chunk came (trailers are not body).
    Plain,
    Done,
}

/// Follows one response byte by byte as it is read; see the module documentation.
#[derive(Debug)]
pub(crate) struct Guard {
    kind: Kind,
    part: Part,
    /// Body bytes so far.
    body: u64,
    /// Stream items: bytes of the current item so far (raw line or event line), or the frame
    /// header so far and the payload left.
    item: u64,
    header: Vec<u8>,
    payload_left: u64,
    raw_line: bool,
}

impl Guard {
    fn new(kind: Kind) -> Guard {
        Guard {
            kind,
            part: Part::Head(Vec::new()),
            body: 0,
            item: 0,
            header: Vec::new(),
            payload_left: 0,
            raw_line: false,
        }
    }

    /// Takes the next bytes read from the connection; says why it must stop.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while !bytes.is_empty() {
            match &mut self.part {
                Part::Head(h) => {
                    let old = h.len();
                    h.extend_from_slice(bytes);
                    match memchr::memmem::find(h, b"\r\n\r\n") {
                        Some(end) => {
                            let head = String::from_utf8_lossy(&h[..end]).to_ascii_lowercase();
                            let used = end + 4 - old;
                            bytes = &bytes[used..];
                            let chunked = head.lines().any(|l| {
                                l.split_once(':').is_some_and(|(k, v)| {
                                    k.trim() == "transfer-encoding" && v.contains("chunked")
                                })
                            });
                            self.part =
                                if chunked { Part::ChunkSize(Vec::new()) } else { Part::Plain };
                        }
                        None if h.len() > MAX_HEAD => {
                            return Err(format!(
                                "the Docker Engine sent a response head larger than {}",
                                size(MAX_HEAD as u64)
                            ));
                        }
                        None => return Ok(()),
                    }
                }
                Part::ChunkSize(line) => match memchr::memchr(b'\n', bytes) {
                    Some(i) => {
                        line.extend_from_slice(&bytes[..i]);
                        bytes = &bytes[i + 1..];
                        let text = String::from_utf8_lossy(line);
                        let hex = text.split(';').next().unwrap_or("").trim();
                        let n = u64::from_str_radix(hex, 16)
                            .map_err(|_| "the Docker Engine sent a malformed chunk".to_owned())?;
                        self.part = if n == 0 { Part::Done } else { Part::ChunkData(n) };
                    }
                    None => {
                        line.extend_from_slice(bytes);
                        if line.len() > 1024 {
                            return Err("the Docker Engine sent a malformed chunk".into());
                        }
                        return Ok(());
                    }
                },
                Part::ChunkData(left) => {
                    let n = usize::try_from(*left).unwrap_or(usize::MAX).min(bytes.len());
                    *left -= n as u64;
                    if *left == 0 {
                        self.part = Part::ChunkEnd(2);
                    }
                    let (data, rest) = bytes.split_at(n);
                    bytes = rest;
                    self.body_bytes(data)?;
                }
                Part::ChunkEnd(left) => {
                    let n = usize::from(*left).min(bytes.len());
                    *left -= u8::try_from(n).unwrap_or(2);
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.part = Part::ChunkSize(Vec::new());
                    }
                }
                Part::Plain => {
                    let data = bytes;
                    bytes = &[];
                    self.body_bytes(data)?;
                }
                Part::Done => return Ok(()),
            }
        }
        Ok(())
    }

    fn body_bytes(&mut self, data: &[u8]) -> Result<(), String> {
        self.body += data.len() as u64;
        match self.kind {
            Kind::Answer if self.body > MAX_BODY => Err(format!(
                "the Docker Engine sent more than {} for one answer (talos-doctor reads at most \
                 that much)",
                size(MAX_BODY)
            )),
            Kind::Answer => Ok(()),
            Kind::Events => self.lines(data, "an event"),
            Kind::Logs => self.frames(data),
        }
    }

    /// JSON lines, or raw log lines: no line longer than [`MAX_LINE`].
    fn lines(&mut self, data: &[u8], what: &str) -> Result<(), String> {
        match memchr::memrchr(b'\n', data) {
            Some(i) => self.item = (data.len() - i - 1) as u64,
            None => self.item += data.len() as u64,
        }
        if self.item > MAX_LINE {
            return Err(format!(
                "the Docker Engine sent {what} line longer than {} (talos-doctor reads at most \
                 that much of one)",
                size(MAX_LINE)
            ));
        }
        Ok(())
    }

    /// Docker's log stream: an 8-byte header (stream, 0, 0, 0, length as u32 big-endian) and
    /// the payload, or, when the first byte is not a stream number (a tty), raw lines; as
    /// bollard decodes them.
    fn frames(&mut self, mut data: &[u8]) -> Result<(), String> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = usize::try_from(self.payload_left).unwrap_or(usize::MAX).min(data.len());
                self.payload_left -= n as u64;
                data = &data[n..];
            } else if self.raw_line {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        self.raw_line = false;
                        self.item = 0;
                        data = &data[i + 1..];
                    }
                    None => return self.lines(data, "a log"),
                }
            } else if self.header.is_empty() && data[0] > 2 {
                self.raw_line = true;
                self.item = 0;
            } else {
                let n = (8 - self.header.len()).min(data.len());
                self.header.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.header.len() == 8 {
                    let h = &self.header;
                    let len = u64::from(u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
                    self.header.clear();
                    if len > MAX_ITEM {
                        return Err(format!(
                            "the Docker Engine sent a log frame of {} (talos-doctor reads \
                             frames of at most {})",
                            approx(len),
                            size(MAX_ITEM)
                        ));
                    }
                    self.payload_left = len;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(kind: Kind, parts: &[&[u8]]) -> Result<(), String> {
        let mut g = Guard::new(kind);
        parts.iter().try_for_each(|p| g.feed(p))
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

    #[test]
    fn answers_are_capped_in_plain_and_chunked_bodies() {
        let big = vec![b' '; 1 << 20];
        let mut g = Guard::new(Kind::Answer);
        g.feed(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}").unwrap();
        let over = (0..40).try_for_each(|_| g.feed(&big));
        assert!(over.unwrap_err().contains("more than 32 MiB for one answer"));
        let mut g = Guard::new(Kind::Answer);
        g.feed(CHUNKED).unwrap();
        let chunk = [b"100000\r\n".as_slice(), &big, b"\r\n"].concat();
        let over = (0..40).try_for_each(|_| g.feed(&chunk));
        assert!(over.is_err());
        // A small chunked answer, cut anywhere, is fine.
        let whole = [CHUNKED, b"5\r\nhello\r\n0\r\n\r\n"].concat();
        for cut in 0..whole.len() {
            assert_eq!(feed_all(Kind::Answer, &[&whole[..cut], &whole[cut..]]), Ok(()));
        }
    }

    #[test]
    fn stream_items_are_capped_but_streams_are_not() {
        // Many small frames, through one-byte chunks (the chunk framing is not body).
        let frame = [&[1u8, 0, 0, 0, 0, 0, 0, 6][..], b"hello\n"].concat();
        let mut g = Guard::new(Kind::Logs);
        g.feed(CHUNKED).unwrap();
        for _ in 0..100_000 {
            for b in &frame {
                g.feed(b"1\r\n").unwrap();
                g.feed(&[*b]).unwrap();
                g.feed(b"\r\n").unwrap();
            }
        }
        // A frame that says it is 4 GiB.
        let huge = [CHUNKED, b"8\r\n", &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], b"\r\n"].concat();
        assert!(feed_all(Kind::Logs, &[&huge]).unwrap_err().contains("log frame of"));
        // A tty stream's line that never ends, in one-byte chunks.
        let mut g = Guard::new(Kind::Logs);
        g.feed(CHUNKED).unwrap();
        let line = b"1\r\na\r\n".repeat(1 << 16);
        let over = (0..300).try_for_each(|_| g.feed(&line));
        assert!(over.unwrap_err().contains("log line longer than 1 MiB"));
        // An event line that never ends.
        let mut g = Guard::new(Kind::Events);
        g.feed(b"HTTP/1.1 200 OK\r\n\r\n{\"Type\":\"container\"}\n").unwrap();
        let over = (0..20).try_for_each(|_| g.feed(&[b'x'; 1 << 20]));
        assert!(over.unwrap_err().contains("event line longer than 1 MiB"));
    }
}
