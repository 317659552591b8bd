//! Input: sources (files, stdin, gzip) and the bytes-first line splitter.
pub mod bundle;
pub mod lines;
pub mod source;
