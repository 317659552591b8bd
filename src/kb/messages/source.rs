//! The source of a message for a report: the one best match, as a short text.

use super::lookup;

/// The source of a message in one line for a report: the best top-level match that is not
/// weak (`k8s.KubeletServiceController, internal/app/machined/…/kubelet_service.go:302,
/// v1.2–v1.13`), or `None` when Talos did not print it (kernel, kubelet, etcd text).
pub fn source_of(message: &str) -> Option<String> {
    let m = lookup(message).into_iter().find(|m| m.depth == 0 && !m.weak && !m.alt)?;
    Some(format!("{}, {}:{} ({})", m.component, m.path, m.line, releases(&m)))
}

/// The releases a match's format exists in, as a range (`v1.2–v1.13`, or one release).
pub fn releases(m: &super::Match<'_>) -> String {
    if m.first_release == m.last_release {
        m.first_release.to_owned()
    } else {
        format!("{}–{}", m.first_release, m.last_release)
    }
}

/// [`source_of`] for a whole log line as given (its envelope and escapes removed first).
pub fn source_of_line(line: &str) -> Option<String> {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    source_of(&env.text)
}
