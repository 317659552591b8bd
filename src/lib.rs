//! talos-doctor library.
pub mod input;
pub mod parse;
pub mod machine;
pub mod phases;
pub mod render;
pub mod report;
