//! Parsers for Talos log lines, in two layers.
//!
//! [`envelope`] peels off everything that the way a log reached the user added around a
//! Talos message (Docker and compose prefixes, `talosctl` node prefixes, dmesg and console
//! stamps, the `[talos]` prefix, Go `log` dates, JSON shipping). [`message`] then reads the
//! message itself: sequencer lines, service state lines and zap key/value fields. Both are
//! nom parsers over `&str`, pure and allocation-free on the common path.

pub mod envelope;
pub mod event;
pub mod message;
pub mod normalize;

pub mod time;

pub use envelope::{Dialect, Envelope, Level};
pub use message::{Message, ServiceLine, Zap};
