//! `explain-line` and the catalogue's lead in unexplained reports.

use super::*;

#[test]
fn explain_line_traces_a_sequencer_line_to_its_source() {
    let o = TestCommand::new(&[
        "explain-line",
        "[talos] 2024/10/09 12:53:26 task setupSharedFilesystems (1/1): failed: invalid argument",
    ])
    .run();
    assert_eq!(code(&o), 0, "{}", err(&o));
    let s = out(&o);
    assert!(s.contains("\"task %s (%s): failed: %s\""), "{s}");
    assert!(s.contains("v1alpha1_controller.go#L"), "{s}");
}

#[test]
fn explain_line_says_when_talos_did_not_print_a_line() {
    let o =
        TestCommand::new(&["explain-line", "[    1.234567] usb 1-1: new high-speed USB device"])
            .run();
    assert_eq!(code(&o), 3);
    assert!(out(&o).contains("not in the Talos message catalogue"));
}

#[test]
fn an_unexplained_failure_names_the_component_and_file_of_its_error() {
    let log = "[talos] service[kubelet](Waiting): Error running Containerd(kubelet), going to restart forever: \
               failed to clean up task \"kubelet\": task must be stopped before deletion\n";
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log).run();
    assert_eq!(code(&o), 3, "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let source = doc["unexplained"][0]["templates"][0]["source"].as_str().unwrap_or_default();
    assert!(source.contains("service_runner.go:"), "{source}");
}
