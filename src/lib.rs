//! talos-doctor library.
pub mod input;
pub mod parse;
pub mod render;
pub mod report;
