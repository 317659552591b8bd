//! talos-doctor library.
pub mod input;
pub mod parse;
