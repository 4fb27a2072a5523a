//! Names as text: a ref's name, a tag's name, a file's path can hold a secret as well as any
//! file can (`git push origin HEAD:refs/heads/leak-<token>`, a file named after a key). Each name
//! is scanned as one line of text, and the place a finding names is the name with every secret
//! in it masked, so a report never prints the secret through its location.

use crate::content::{self, ContentOptions, ContentTally};
use crate::finding::{Finding, Place};
use crate::Ruleset;

/// Scans `name`; returns it with every secret found in it masked, and the findings, located by
/// `label` (given the masked name) at `place`.
pub(crate) fn scan_name(
    rules: &Ruleset,
    opts: &ContentOptions,
    name: &str,
    place: Place,
    label: impl Fn(&str) -> String,
    tally: &mut ContentTally,
) -> (String, Vec<Finding>) {
    let mut found = Vec::new();
    // Under a fixed pseudo-path: rules that match on paths alone must not fire on every name.
    content::scan(
        rules,
        opts,
        place.as_str(),
        None,
        name.as_bytes(),
        &mut found,
        tally,
    );
    if found.is_empty() {
        return (name.to_owned(), found);
    }
    let shown = masked(name, &found);
    let at = label(&shown);
    let found = found
        .into_iter()
        .map(|mut f| {
            f.file = at.clone();
            f.place = Some(place);
            f.archive.clear();
            f.seal()
        })
        .collect();
    (shown, found)
}

/// `text` with every secret `rules` find in it masked, line by line: what a warning or a
/// report's reasons print (a path, a member's name, an error message quoting the bytes it could
/// not parse) never holds a secret in clear.
pub(crate) fn scrub(rules: &Ruleset, text: &str) -> String {
    let mut tally = ContentTally::default();
    let opts = ContentOptions::default();
    text.split('\n')
        .map(|line| {
            scan_name(
                rules,
                &opts,
                line,
                Place::Path,
                |n| n.to_owned(),
                &mut tally,
            )
            .0
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Masks, in the file (and archive members) of every finding, each secret a name finding found
/// in a path (bb-scan-s9 F7): a file named after a token that also holds a secret must not print
/// the token through the other finding's location or fingerprint, in any report format.
pub(crate) fn mask_paths(findings: &mut [Finding]) {
    let secrets: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f.place == Some(Place::Path))
        .map(|f| (f.secret.expose_secret().to_string(), f.secret.to_string()))
        .filter(|(s, _)| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let mut changed = false;
        for (s, m) in &secrets {
            for text in std::iter::once(&mut f.file).chain(f.archive.iter_mut()) {
                if text.contains(s.as_str()) {
                    *text = text.replace(s.as_str(), m);
                    changed = true;
                }
            }
        }
        if changed {
            f.reseal();
        }
    }
}

/// Replaces each secret of `found` in `text` with its masked form: a commit's author, email and
/// summary are printed beside every finding of the commit, so a secret they hold must not be.
pub(crate) fn mask_known(text: &mut String, found: &[Finding]) {
    for f in found {
        let secret = f.secret.expose_secret();
        if !secret.is_empty() && text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), &f.secret.to_string());
        }
    }
}

/// `name` with the span of each finding (1-based byte columns on its one line) replaced by the
/// masked secret; a finding whose span does not fit masks the whole name.
pub(crate) fn masked(name: &str, found: &[Finding]) -> String {
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for f in found {
        let (a, b) = (f.column.max(1) - 1, f.end_column.max(1) - 1);
        if f.line != 1 || f.end_line != 1 || a >= b || b > name.len() {
            return "…".to_owned();
        }
        spans.push((a, b, f.secret.to_string()));
    }
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = name.as_bytes().to_vec();
    let mut floor = usize::MAX;
    for (a, b, m) in spans {
        // Overlapping spans: mask their union.
        let b = b.min(floor);
        if a < b {
            out.splice(a..b, m.into_bytes());
        }
        floor = a;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_scanned_and_shown_with_their_secret_masked() {
        let rules = Ruleset::builtin();
        let key = crate::examples::expand("«sk-or-v1-{hex:64}»", &mut crate::examples::Gen::new(7))
            .unwrap()
            .text;
        let name = format!("refs/heads/leak-{key}-x");
        let mut tally = ContentTally::default();
        let (shown, found) = scan_name(
            &rules,
            &ContentOptions::default(),
            &name,
            Place::Ref,
            |n| format!("ref {n}"),
            &mut tally,
        );
        assert_eq!(found.len(), 1);
        assert!(!shown.contains(&key), "{shown}");
        assert!(shown.starts_with("refs/heads/leak-") && shown.ends_with("-x"));
        assert_eq!(found[0].file, format!("ref {shown}"));
        assert_eq!(found[0].place, Some(Place::Ref));
        let (shown, found) = scan_name(
            &rules,
            &ContentOptions::default(),
            "refs/heads/main",
            Place::Ref,
            |n| format!("ref {n}"),
            &mut tally,
        );
        assert!(found.is_empty());
        assert_eq!(shown, "refs/heads/main");
    }
}
