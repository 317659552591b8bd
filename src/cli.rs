//! Command-line arguments, exactly as the user typed them (clap derive). Validation and
//! environment probing happen in `config.rs`, not here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Reads the boot log of a Talos Linux node, follows its boot sequence phase by phase and
/// explains why the boot failed and what to do, with the log lines that prove it.
#[derive(Debug, Parser)]
#[command(name = "talos-doctor", version, about, long_about = None)]
#[command(after_help = "Examples:
  docker logs talos-cp-01 2>&1 | talos-doctor analyze
  talos-doctor analyze --format json boot.log
  talos-doctor watch talos-cp-01
  talos-doctor inspect talos-cp-01
  talos-doctor rules explain TD-CTR-001

Exit codes:
  0  no failure
  1  a failure or stall, explained by a known cause
  2  talos-doctor could not do its job (usage, unreadable input, Docker unreachable, bad rules file)
  3  a failure or stall with no known cause
  130  interrupted (watch: Ctrl-C, with the report so far)

Colour: --color, NO_COLOR (off), CLICOLOR_FORCE (on), TERM=dumb (off).")]
pub struct Cli {
    /// When to colour the human report: auto (a terminal, unless NO_COLOR or TERM=dumb;
    /// CLICOLOR_FORCE forces it), always, never.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const ANALYZE_HELP: &str = "Examples:
  docker logs talos-cp-01 2>&1 | talos-doctor analyze
  talos-doctor analyze boot.log logs/cp2.log.gz support.zip
  talos-doctor analyze --format json boot.log > report.json
  talos-doctor analyze --container talos-cp-01
  talos-doctor analyze logs/ --junit report.xml --sarif talos.sarif

Exit codes:
  0  no failure: the boot succeeded, is healthy and in progress, or only benign noise
  1  a failure or stall, explained by a known cause (--fail-on warning: also warnings)
  2  talos-doctor could not do its job: bad usage, unreadable input, no Talos line, bad rules file
  3  a failure or stall with no known cause";

const RULES_HELP: &str = "Examples:
  talos-doctor rules list
  talos-doctor rules explain TD-CTR-001
  talos-doctor rules test --fixtures fixtures
  talos-doctor rules patterns > patterns.txt

Exit codes:
  0  done (rules test: every example and fixture passed)
  1  rules test: some example or fixture failed
  2  bad usage, unknown rule id, a rules file or fixture directory that cannot be read";

const WATCH_HELP: &str = "Examples:
  talos-doctor watch talos-cp-01
  talos-doctor watch --cluster talos-default
  talos-doctor watch --stall-timeout 3m --timeout 15m --format json talos-cp-01

Exit codes:
  0  the boot succeeded
  1  a failure or stall (a restart loop, --timeout reached), explained by a known cause
  2  bad usage, Docker unreachable, no such container, container removed or daemon lost
  3  a failure or stall with no known cause (also --timeout reached before a verdict)
  130  interrupted (Ctrl-C): the report so far is printed";

const INSPECT_HELP: &str = "Examples:
  talos-doctor inspect talos-cp-01
  talos-doctor inspect --format junit talos-cp-01 > inspect.xml

Exit codes:
  0  the container can boot as configured (warnings at most)
  1  a setting stops the boot (an error finding)
  2  bad usage, Docker unreachable, no such container";

const COMPLETIONS_HELP: &str = "Examples:
  talos-doctor completions bash > /etc/bash_completion.d/talos-doctor
  talos-doctor completions zsh > \"${fpath[1]}/_talos-doctor\"
  talos-doctor completions fish > ~/.config/fish/completions/talos-doctor.fish

Exit codes:
  0  written
  2  bad usage";

const MAN_HELP: &str = "Examples:
  talos-doctor man > talos-doctor.1 && man ./talos-doctor.1

Exit codes:
  0  written
  2  bad usage";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze Talos logs from files or standard input.
    #[command(after_help = ANALYZE_HELP)]
    Analyze(AnalyzeArgs),
    /// List, explain and test the knowledge-base rules.
    #[command(after_help = RULES_HELP)]
    Rules(RulesArgs),
    /// Follow Talos containers' logs live and stop with the report once the boot's verdict is known.
    #[command(after_help = WATCH_HELP)]
    Watch(WatchArgs),
    /// Check a Talos container's settings against the known-good spec for its version.
    #[command(after_help = INSPECT_HELP)]
    Inspect(InspectArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = MAN_HELP)]
    Man,
    /// Show which Talos component and source line printed a log line, and in which releases.
    #[command(after_help = "Examples:
  talos-doctor explain-line '[talos] phase sharedFilesystems (6/10): failed'

Exit codes:
  0  every line was traced to Talos' source
  2  bad usage
  3  some line was not (kernel, kubelet, etcd or other text)")]
    ExplainLine(ExplainLineArgs),
}

/// `explain-line`.
#[derive(Debug, Args)]
pub struct ExplainLineArgs {
    /// Log lines as you see them (any envelope: docker, dmesg, talosctl, console).
    #[arg(required = true, value_name = "LINE")]
    pub lines: Vec<String>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The report for a person (colour on a terminal).
    Human,
    /// The JSON report of the diagnosis contract.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…::…`).
    Github,
    /// JUnit XML: a test suite per node, a test case per boot phase.
    Junit,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).
    Sarif,
    /// Markdown for a merge-request comment or a job summary.
    Markdown,
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
    /// Extra report files and the exit policy for CI.
    #[command(flatten)]
    pub ci: CiArgs,
}

/// CI options: more formats written to files in the same run, and which findings fail it.
#[derive(Debug, Args, Clone, Default)]
pub struct CiArgs {
    /// Also write the JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the SARIF 2.1.0 report to FILE.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Also write the Markdown report to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Which findings make the exit status non-zero: `error` (default: 1 explained failure,
    /// 3 unexplained), `warning` (also 1 for warnings), `never` (0; 2 for tool errors stays).
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = crate::exit::FailOn::Error)]
    pub fail_on: crate::exit::FailOn,
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
    /// Also read the logs of this Docker container (from its start) and check its settings
    /// against the known-good spec, to confirm the diagnosis (e.g. which mount is missing).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Threads in all, as `make -j` and `rg -j` count them (default 1): N-1 prepare lines
    /// beside the one that keeps the analysis state; 0 and 1 are one thread. The report is
    /// the same either way. Each preparing thread adds memory (1.5-4 MiB measured); on two
    /// CPUs `-j 2` measured 0.8-1.2x one thread (slower on a fast machine: the handoff costs
    /// about what the second thread saves).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=16))]
    pub threads: Option<u8>,
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

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Containers to watch: names or id prefixes.
    #[arg(value_name = "CONTAINER", required_unless_present = "cluster")]
    pub containers: Vec<String>,
    /// Watch every container labelled `talos.cluster.name=NAME` (talosctl cluster create).
    #[arg(long, value_name = "NAME", conflicts_with = "containers")]
    pub cluster: Option<String>,
    /// Only logs since this time: RFC 3339, Unix seconds, or a duration ago (`10m`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Start this many lines before the end of the log (default: the whole log).
    #[arg(long, value_name = "N")]
    pub tail: Option<String>,
    /// Give up after this long (`90s`, `10m`); nodes still booting are reported as stalled.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// No boot progress for this long is a stall [default: 5m in startEverything, 2m in any
    /// other phase].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stall_timeout: Option<Duration>,
    /// When a failure is known from a finding but no sequence has failed yet, keep reading
    /// this long (or until the container exits) before the verdict. A failed sequence ends
    /// the watch at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "15s")]
    pub settle: Duration,
    /// Print progress as plain lines even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// Output options.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Container: name or id prefix.
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Output options.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `90s`, `10m`, `1h`, `1h30m`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = Duration::ZERO;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let bad = || format!("invalid duration `{s}` (use e.g. 90s, 5m, 1h30m)");
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next().unwrap_or('s'));
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let secs = match unit.as_str() {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(secs);
    }
    if !num.is_empty() || total.is_zero() && s != "0s" {
        return Err(bad());
    }
    Ok(total)
}
