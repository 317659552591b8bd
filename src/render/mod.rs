//! Renderers: one file per output format, each `render(&Report, &RenderOptions, &mut dyn
//! Write)`. They never pick colours or read the environment themselves: everything they
//! need arrives in [`RenderOptions`], decided once in `config.rs`.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

/// What a renderer may vary on.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Colour escapes allowed (human format only; JSON and annotations never colour).
    pub color: bool,
    /// Unicode box characters and marks allowed.
    pub unicode: bool,
    /// Terminal width for wrapping.
    pub width: usize,
    /// Show info-level findings too.
    pub verbose: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { color: false, unicode: true, width: 100, verbose: false }
    }
}
