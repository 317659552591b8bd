use super::analyze_text;

/// A `then` rule, through the whole analyzer: the second line must follow a first one within
/// its window, counted from the latest first line.
#[test]
fn then_waits_for_a_fresh_first_line() {
    let rules = crate::kb::parse_file(
        "t.toml",
        "[[rule]]\nid = \"T-1\"\ncategory = \"network_dns\"\nseverity = \"error\"\ntitle = \"t\"\n\
         match = 'first'\nthen = { match = 'second', within = 2 }\nroot_cause = \"r\"\nremediation = [\"a\"]\n",
    )
    .unwrap();
    let kb = crate::kb::Kb::from_rules(rules).unwrap();
    let fired = |log: &str| !analyze_text(&kb, log).findings.is_empty();
    let cases = [
        ("first\nsecond", true),
        ("first\nx\nx\nx\nsecond", false),
        ("first\nx\nx\nx\nfirst\nsecond", true),
        ("second\nfirst", false),
    ];
    for (log, want) in cases {
        assert_eq!(fired(log), want, "{log:?}");
    }
}

/// The facts of an empty line, worked out once, are what the full computation of
/// [`super::Analyzer::step`] gives for one.
#[test]
fn a_blank_line_is_what_the_full_computation_gives() {
    use crate::parse::{envelope, message, normalize::normalize};
    let kb = crate::kb::Kb::builtin();
    let norm = normalize("");
    let env = envelope::parse(&norm);
    let msg = message::parse(&env.text);
    let facts = super::Facts::of(&kb, "", &env, &msg);
    let (b_env, b_msg, b_facts) = super::blank_line(&kb);
    assert_eq!((&b_env, &b_msg, &b_facts), (&env, &msg, &facts));
}
