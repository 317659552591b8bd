//! A planted-secret corpus: secrets of every shape, in every envelope, on every path a line
//! can take into a report (explained failure, unexplained failure, context, multi-line
//! blocks), rendered in every format and CI file. Nothing may leak with redaction on;
//! `--no-redact` is the control that shows the corpus does reach the output.

use super::*;

/// (what, the secret, the lines that carry it: `{S}` is replaced by the secret).
fn corpus() -> Vec<(&'static str, String, Vec<String>)> {
    let pem_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
    let pem_tail = "Zq9Xw3==";
    let long_b64 = "dmVyc2lvbjogdjFhbHBoYTEKZGVidWc6IGZhbHNlCnBlcnNpc3Q6IHRydWUKbWFjaGluZToK";
    let line = |s: &str| s.to_owned();
    vec![
        ("bootstrap token", "xr3yj1.hsd0xs3w2fcmsrve".into(), vec![line("token: {S}")]),
        ("short password", "hunter2!".into(), vec![line("password: {S}")]),
        ("JSON password", "Pa55w0rd-x".into(), vec![line(r#"{"user": "ci", "password": "{S}"}"#)]),
        (
            "AWS secret key in JSON",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            vec![line(r#""SecretAccessKey": "{S}""#)],
        ),
        (
            "AKID:SECRET pair",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLE".into(),
            vec![line("creds AKIAIOSFODNN7EXAMPLE:{S}")],
        ),
        (
            "URL credentials",
            "s3cr3tPass".into(),
            vec![line("pulling from https://ci:{S}@registry.example.com/v2/talos")],
        ),
        (
            "encryption secret",
            "9yQ0b3RhbGx5c2VjcmV0a2V5MTIzNDU2Nzg5MGFi".into(),
            vec![line("aescbcEncryptionSecret: {S}")],
        ),
        (
            "value on the line after its key",
            "Qm9vdHN0cmFwU2VjcmV0VmFsdWU5OQ".into(),
            vec![line("aescbcEncryptionSecret:"), line("{S}")],
        ),
        (
            "PEM block over lines",
            pem_body.into(),
            vec![
                line("-----BEGIN EC PRIVATE KEY-----"),
                line("{S}"),
                line(pem_tail),
                line("-----END EC PRIVATE KEY-----"),
            ],
        ),
        (
            "short last PEM line",
            pem_tail.into(),
            vec![
                line("-----BEGIN EC PRIVATE KEY-----"),
                line(pem_body),
                line("{S}"),
                line("-----END EC PRIVATE KEY-----"),
            ],
        ),
        ("USERDATA", long_b64.into(), vec![line("env USERDATA={S}")]),
        (
            "HTTP Basic credentials",
            "Y2k6c3VwZXJzZWNyZXRwYXNzMTI".into(),
            vec![line("GET /v2/ 401 Authorization: Basic {S}")],
        ),
        (
            "registry auth field",
            "Y2k6c3VwZXJzZWNyZXRwYXNzMTI0NQ".into(),
            vec![line("        auth: {S}")],
        ),
        (
            "token flag on a command line",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
            vec![line("exec talosctl --token {S} apply-config")],
        ),
        (
            "URL signature",
            "aBcD3fGh1jKlMn0pQrStUvWxYz12345678%3D".into(),
            vec![line("GET https://x.blob.core.windows.net/c/b?sv=2021&sig={S} 403")],
        ),
        (
            "GitHub token",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a".into(),
            vec![line("clone https://github.com/x/y failed: token {S} rejected")],
        ),
        (
            "kubeconfig client key",
            "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB".into(),
            vec![line("    client-key-data: {S}")],
        ),
        (
            "OpenSSH key block",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW".into(),
            vec![
                line("-----BEGIN OPENSSH PRIVATE KEY-----"),
                line("{S}"),
                line("-----END OPENSSH PRIVATE KEY-----"),
            ],
        ),
        (
            "wrapped USERDATA tail",
            "bWFjaGluZTogdG9rZW46IGFiY2RlZg".into(),
            vec![line(&format!("env USERDATA={long_b64}")), line("{S}")],
        ),
    ]
}

/// The envelopes a line comes in; `{L}` is the line.
const ENVELOPES: &[&str] = &[
    "[talos] 2024/10/09 12:53:26 {L}",
    "192.168.1.10: user: warning: [2024-10-09T12:53:26.1Z]: [talos] {L}",
    // A fragment: the lines pasted bare, as in an issue.
    "{L}",
];

/// A log that puts the secret lines (a) as context right before a failure no rule knows and
/// (b) inside the failing error of a service, then fails the boot.
fn log_for(env: &str, lines: &[String], secret: &str) -> String {
    let mut out = String::new();
    let put = |out: &mut String, l: &str| {
        out.push_str(&env.replace("{L}", l));
        out.push('\n');
    };
    put(&mut out, "phase config (4/4): 1 tasks(s)");
    put(&mut out, "task loadConfig (1/1): starting");
    for l in lines {
        put(&mut out, &l.replace("{S}", secret));
    }
    // The block unwrapped onto one line, as an error message quotes it.
    let joined: String = lines.iter().map(|l| l.replace("{S}", secret)).collect();
    put(&mut out, &format!("service[apid](Failed): Failed to start: bad config: {joined}"));
    put(&mut out, &format!("task loadConfig (1/1): failed: cannot apply: {joined}"));
    put(&mut out, "phase config (4/4): failed");
    put(&mut out, "initialize sequence: failed");
    out
}

fn json_lines(log: &str) -> String {
    log.lines()
        .map(|l| {
            let msg = serde_json::to_string(&format!("{l}\n")).unwrap();
            format!(r#"{{"msg":{msg},"talos-level":"info","talos-service":"machined","talos-time":"2024-10-09T12:53:26Z"}}"#)
        })
        .map(|l| l + "\n")
        .collect()
}

fn outputs(log_path: &str, dir: &std::path::Path, extra: &[&str]) -> String {
    let mut all = String::new();
    let files = ["r.xml", "r.sarif", "r.md"].map(|f| dir.join(f).display().to_string());
    let runs: [Vec<&str>; 7] = [
        vec![
            "--format",
            "json",
            "--junit",
            &files[0],
            "--sarif",
            &files[1],
            "--markdown",
            &files[2],
        ],
        vec!["--format", "github"],
        vec!["--format", "human", "--suggest-rule"],
        vec!["--format", "human", "--verbose"],
        vec!["--format", "markdown"],
        vec!["--format", "junit"],
        vec!["--format", "sarif"],
    ];
    for run in runs {
        let mut args = vec!["analyze"];
        args.extend(run);
        args.extend_from_slice(extra);
        args.push(log_path);
        let o = TestCommand::new(&args).run();
        all.push_str(&out(&o));
        all.push_str(&err(&o));
    }
    for f in &files {
        all.push_str(&std::fs::read_to_string(f).unwrap_or_default());
    }
    // Each line on its own through `explain-line`, which prints the line it explains.
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let mut explain = vec!["explain-line"];
    explain.extend(text.lines().filter(|l| !l.trim().is_empty()));
    let o = TestCommand::new(&explain).run();
    all.push_str(&out(&o));
    all.push_str(&err(&o));
    all
}

#[test]
fn planted_secrets_never_reach_any_output() {
    let mut cases = Vec::new();
    for (what, secret, lines) in corpus() {
        for env in ENVELOPES {
            let plain = log_for(env, &lines, &secret);
            cases.push((format!("{what} / text / {env}"), secret.clone(), plain.clone()));
            cases.push((
                format!("{what} / json_lines / {env}"),
                secret.clone(),
                json_lines(&plain),
            ));
        }
    }
    // Two workers: the corpus is a few hundred runs of the binary.
    let results: Vec<(String, bool, bool)> = std::thread::scope(|s| {
        let chunks: Vec<_> = cases.chunks(cases.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .enumerate()
            .map(|(w, chunk)| {
                s.spawn(move || {
                    let dir =
                        std::env::temp_dir().join(format!("td-secrets-{}-{w}", std::process::id()));
                    std::fs::create_dir_all(&dir).unwrap();
                    let path = dir.join("in.log");
                    let p = path.display().to_string();
                    let mut res = Vec::new();
                    for (name, secret, log) in chunk {
                        std::fs::write(&path, log).unwrap();
                        let leaked = outputs(&p, &dir, &[]).contains(secret.as_str());
                        let o =
                            TestCommand::new(&["analyze", "--format", "json", "--no-redact", &p])
                                .run();
                        res.push((name.clone(), leaked, out(&o).contains(secret.as_str())));
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                    res
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let leaks: Vec<&str> = results.iter().filter(|r| r.1).map(|r| r.0.as_str()).collect();
    let hidden: Vec<&str> = results.iter().filter(|r| !r.2).map(|r| r.0.as_str()).collect();
    assert!(
        leaks.is_empty(),
        "{} of {} logs leaked:\n{}",
        leaks.len(),
        results.len(),
        leaks.join("\n")
    );
    assert!(
        hidden.is_empty(),
        "the control (--no-redact) must show every planted secret:\n{}",
        hidden.join("\n")
    );
}
