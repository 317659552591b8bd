//! Input: sources (files, stdin, gzip, support bundles), the bytes-first line splitter and
//! byte decoding.
pub mod bundle;
pub(crate) mod decode;
pub mod lines;
pub mod source;
