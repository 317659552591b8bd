//! `--suggest-rule`: a rules-file stub for the most frequent error template of a failure no
//! rule explains, so the next person with the same failure gets an answer.

use crate::report::Report;

fn escape_regex(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds the stub, or `None` when nothing is unexplained.
pub fn rule_stub(report: &Report) -> Option<String> {
    let u = report.unexplained.first()?;
    let t = u.templates.iter().max_by_key(|t| t.count)?;
    // Masked parts (`<n>`, `<ip>`, …) become wildcards; the rest is matched literally.
    let mut pattern = String::new();
    let mut rest = t.template.as_str();
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) if close < 12 => {
                pattern.push_str(&escape_regex(&rest[..open]));
                pattern.push_str(r"\S+");
                rest = &rest[open + close + 1..];
            }
            _ => {
                pattern.push_str(&escape_regex(&rest[..=open]));
                rest = &rest[open + 1..];
            }
        }
    }
    pattern.push_str(&escape_regex(rest));
    let example = t.example.text.replace('\'', "’");
    Some(format!(
        "# Rule stub for the most frequent error line ({count}×) of the unexplained failure.\n\
         # Fill in category, title, root_cause and remediation from the Talos source, then\n\
         # load it with `--rules FILE` and check it with `talos-doctor rules test --rules FILE`.\n\
         [[rule]]\n\
         id = \"LOCAL-001\"\n\
         category = \"CHOOSE-FROM-THE-TAXONOMY\"\n\
         severity = \"error\"\n\
         title = \"…\"\n\
         match = '{pattern}'\n\
         root_cause = \"\"\"…\"\"\"\n\
         remediation = [\"…\"]\n\
         examples = ['{example}']\n\
         counter_examples = []\n",
        count = t.count,
        pattern = pattern.replace('\'', "."),
    ))
}
