//! Input.
pub mod lines;
