//! Command-line arguments, exactly as the user typed them (clap derive). Validation and
//! environment probing happen in `config.rs`, not here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Reads the boot log of a Talos Linux node, follows its boot sequence phase by phase and
/// explains why the boot failed and what to do, with the log lines that prove it.
#[derive(Debug, Parser)]
#[command(name = "talos-doctor", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 no failure, 1 failure explained by a known cause, \
2 talos-doctor could not do its job (usage, unreadable input, Docker unreachable, bad rules file), \
3 failure or stall with no known cause.\n\nExamples:\n  docker logs talos-cp-01 2>&1 | talos-doctor analyze\n  \
talos-doctor analyze --format json boot.log\n  talos-doctor rules explain TD-CTR-001")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze Talos logs from files or standard input.
    Analyze(AnalyzeArgs),
    /// List, explain and test the knowledge-base rules.
    Rules(RulesArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The report for a person (colour on a terminal).
    Human,
    /// The JSON report of the diagnosis contract.
    Json,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options every report-producing command shares.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to colour the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// ASCII marks instead of Unicode ones.
    #[arg(long)]
    pub ascii: bool,
    /// Also show info-level notes (known-benign noise).
    #[arg(short, long)]
    pub verbose: bool,
    /// Print secrets found in the log instead of masking them (machine config, tokens, keys).
    #[arg(long)]
    pub no_redact: bool,
    /// Add or override rules from a TOML file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
}

/// `analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Log files (plain or gzip); `-` or none reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// Node name for lines without a node prefix (default: `-`, or each file's name when
    /// several files are given).
    #[arg(long)]
    pub node: Option<String>,
    /// For a failure no rule explains, print a rules-file stub for the most frequent error.
    #[arg(long)]
    pub suggest_rule: bool,
    /// Output options.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// What to do with the rules.
    #[command(subcommand)]
    pub command: RulesCommand,
    /// Add or override rules from a TOML file (repeatable).
    #[arg(long = "rules", value_name = "FILE", global = true)]
    pub rules: Vec<PathBuf>,
}

/// `rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// One line per rule: id, category, severity, title.
    List,
    /// Everything about one rule: cause, fix, references, examples.
    Explain {
        /// Rule id, e.g. TD-CTR-001.
        id: String,
    },
    /// Run every rule's examples and counter-examples, and every fixture against its case.json.
    Test {
        /// Fixture directory (each case: input.log + case.json).
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
    /// Print every rule's `match` pattern, one per line (for `rg -f` / `grep -E -f`).
    Patterns,
}
