//! One buffer's bytes to findings, whatever they came from (a file, stdin, a git blob, an
//! archive member): an archive is opened (`archive.rs`) and its members scanned the same way,
//! nested up to a depth; binary content is skipped; text is scanned by the rules as written,
//! then decoded (`decode.rs`) and scanned again; inline markers drop what their lines allow.
//! Everything passed over or stopped is counted in a [`ContentTally`], which the scan's
//! outcome turns into skip counts and the reasons a scan is incomplete.

use crate::archive::{self, ArchiveLimits, Budget, Member, Stop};
use crate::decode;
use crate::engine::{Hit, LineIndex, Markers};
use crate::finding::Finding;
use crate::source::is_binary;
use crate::Ruleset;
use std::cell::RefCell;

/// How deep to look into a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentOptions {
    /// Files, blobs and archive members larger than this are skipped.
    pub max_file_size: u64,
    /// Decodings followed one inside the other (gitleaks's `--max-decode-depth`); 0: none.
    pub max_decode_depth: u8,
    /// Archives opened one inside the other (gitleaks's `--max-archive-depth`); 0: none.
    pub max_archive_depth: u8,
    /// Limits against decompression bombs.
    pub archive_limits: ArchiveLimits,
}

/// The default decode depth (`--max-decode-depth`): 3, as the deepest chain in the real
/// histories measured (a Sigstore attestation in astral-sh/uv is three deep) is looked at whole.
pub const DEFAULT_DECODE_DEPTH: u8 = 3;

/// The default archive depth (`--max-archive-depth`).
pub const DEFAULT_ARCHIVE_DEPTH: u8 = 2;

impl Default for ContentOptions {
    fn default() -> Self {
        ContentOptions {
            max_file_size: crate::settings::DEFAULT_MAX_FILE_SIZE,
            max_decode_depth: DEFAULT_DECODE_DEPTH,
            max_archive_depth: DEFAULT_ARCHIVE_DEPTH,
            archive_limits: ArchiveLimits::default(),
        }
    }
}

/// Examples kept per kind of gap, for the report's reasons.
const EXAMPLES: usize = 3;

/// What scanning content passed over, opened, decoded and could not finish, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentTally {
    /// Archives opened (nested ones too).
    pub archives: u64,
    /// Archive members scanned as text.
    pub members: u64,
    /// Bytes of those members.
    pub member_bytes: u64,
    /// Archive members skipped as binary.
    pub member_binary: u64,
    /// Archive members over the size limit, skipped.
    pub member_too_large: u64,
    /// Encoded runs decoded and scanned.
    pub decoded: u64,
    /// Findings an inline marker allowed.
    pub allowed_by_marker: u64,
    /// Buffers read as UTF-16 text.
    pub utf16: u64,
    /// Archives nested deeper than the archive depth, not opened.
    pub too_deep: u64,
    /// Archives a bomb limit stopped.
    pub limited: u64,
    /// Archives that could not be read (damaged).
    pub corrupt: u64,
    /// Archive members that could not be read (encrypted, an unknown compression).
    pub unsupported: u64,
    /// Buffers whose decoding stopped at its budget.
    pub decode_stopped: u64,
    /// Buffers holding text still encoded after `max_decode_depth` decodings, not decoded.
    pub decode_too_deep: u64,
    /// Where, for each gap above: `(kind, "path: why")`, a few per kind.
    pub examples: Vec<(GapKind, String)>,
}

/// The gaps content scanning can leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// [`ContentTally::too_deep`].
    TooDeep,
    /// [`ContentTally::limited`].
    Limited,
    /// [`ContentTally::corrupt`].
    Corrupt,
    /// [`ContentTally::unsupported`].
    Unsupported,
    /// [`ContentTally::decode_stopped`].
    DecodeStopped,
    /// [`ContentTally::decode_too_deep`].
    DecodeTooDeep,
}

impl ContentTally {
    /// Adds another tally (of another file or thread).
    pub fn add(&mut self, o: &ContentTally) {
        self.archives += o.archives;
        self.members += o.members;
        self.member_bytes += o.member_bytes;
        self.member_binary += o.member_binary;
        self.member_too_large += o.member_too_large;
        self.decoded += o.decoded;
        self.allowed_by_marker += o.allowed_by_marker;
        self.utf16 += o.utf16;
        self.too_deep += o.too_deep;
        self.limited += o.limited;
        self.corrupt += o.corrupt;
        self.unsupported += o.unsupported;
        self.decode_stopped += o.decode_stopped;
        self.decode_too_deep += o.decode_too_deep;
        for (k, e) in &o.examples {
            self.note(*k, e.clone());
        }
    }

    fn note(&mut self, kind: GapKind, what: String) {
        if self.examples.iter().filter(|(k, _)| *k == kind).count() < EXAMPLES {
            self.examples.push((kind, what));
        }
    }

    /// The examples of one kind, joined.
    pub fn examples_of(&self, kind: GapKind) -> Vec<&str> {
        self.examples
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, e)| e.as_str())
            .collect()
    }

    /// Whether a gap was left.
    pub fn has_gaps(&self) -> bool {
        self.too_deep
            + self.limited
            + self.corrupt
            + self.unsupported
            + self.decode_stopped
            + self.decode_too_deep
            > 0
    }
}

/// What a buffer turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Text, scanned.
    Text,
    /// Binary, skipped.
    Binary,
    /// An archive, opened (or counted as not opened).
    Archive,
}

/// Scans the bytes of `path` (and `commit`), appending findings and counting into `tally`.
/// The caller has already applied the size limit to the buffer itself.
pub fn scan(
    rules: &Ruleset,
    opts: &ContentOptions,
    path: &str,
    commit: Option<&str>,
    data: &[u8],
    out: &mut Vec<Finding>,
    tally: &mut ContentTally,
) -> Read {
    if let Some(kind) = archive::kind(data) {
        if opts.max_archive_depth == 0 {
            return Read::Binary;
        }
        let budget = Budget::new(opts.archive_limits);
        let s = Scanner {
            rules,
            opts,
            commit,
            stopped_at: RefCell::new(None),
        };
        if let Err(stop) = s.open(kind, path, &[], data, 1, &budget, out, tally) {
            // A bomb limit stops the whole archive, once, named where it tripped.
            tally.limited += 1;
            let at = s.stopped_at.take().unwrap_or_else(|| path.to_owned());
            tally.note(GapKind::Limited, format!("{at}: {stop}"));
        }
        return Read::Archive;
    }
    let s = Scanner {
        rules,
        opts,
        commit,
        stopped_at: RefCell::new(None),
    };
    if is_binary(data) {
        return match utf16(data) {
            Some(text) => {
                tally.utf16 += 1;
                s.text_utf16(path, &[], &text, out, tally);
                Read::Text
            }
            None => Read::Binary,
        };
    }
    s.text(path, &[], data, out, tally);
    Read::Text
}

/// UTF-16 text (Windows `.reg`, `.ps1`, `.config` files often are) as UTF-8: with a byte-order
/// mark, or without one when its first [`UTF16_PROBE`] bytes read as UTF-16 ASCII text (every
/// other byte zero, the others printable or line breaks). Unpaired surrogates become U+FFFD.
pub(crate) fn utf16(data: &[u8]) -> Option<Vec<u8>> {
    let (le, body) = match data {
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => {
            let probe = &data[..data.len().min(UTF16_PROBE) & !1];
            if probe.len() < 4 {
                return None;
            }
            let text = |c: u8| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t');
            let pairs = probe.chunks_exact(2);
            let n = pairs.len();
            let le = pairs.clone().filter(|p| text(p[0]) && p[1] == 0).count();
            let be = pairs.filter(|p| p[0] == 0 && text(p[1])).count();
            // All but a few code units (non-ASCII letters) are ASCII.
            let enough = |k: usize| k * 100 >= n * 95;
            if enough(le) {
                (true, data)
            } else if enough(be) {
                (false, data)
            } else {
                return None;
            }
        }
    };
    let units = body.chunks_exact(2).map(|p| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

/// Bytes looked at to tell UTF-16 text without a byte-order mark from binary.
const UTF16_PROBE: usize = 8192;

struct Scanner<'a> {
    rules: &'a Ruleset,
    opts: &'a ContentOptions,
    commit: Option<&'a str>,
    /// The (nested) archive a bomb limit stopped in.
    stopped_at: RefCell<Option<String>>,
}

impl Scanner<'_> {
    /// Opens an archive at nesting `depth` (1: a file that is an archive) and scans its members.
    /// A damaged archive is counted and the reading goes on around it; a bomb limit stops the
    /// outermost archive, so it is returned.
    #[allow(clippy::too_many_arguments)]
    fn open(
        &self,
        kind: archive::Kind,
        path: &str,
        members: &[String],
        data: &[u8],
        depth: u8,
        budget: &Budget,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) -> Result<(), Stop> {
        tally.archives += 1;
        let mut visit = |m: Member<'_>| -> Result<(), Stop> {
            match m {
                Member::File { name, data } => {
                    let inner = format!("{path}!{name}");
                    let mut chain = members.to_vec();
                    chain.push(name.to_owned());
                    if self.rules.skips_path(&inner) {
                        return Ok(());
                    }
                    if let Some(k) = archive::kind(data) {
                        if depth >= self.opts.max_archive_depth {
                            tally.too_deep += 1;
                            tally.note(GapKind::TooDeep, format!("{inner} (depth {})", depth + 1));
                            return Ok(());
                        }
                        self.open(k, &inner, &chain, data, depth + 1, budget, out, tally)?;
                    } else if is_binary(data) {
                        match utf16(data) {
                            Some(text) => {
                                tally.utf16 += 1;
                                tally.members += 1;
                                tally.member_bytes += data.len() as u64;
                                self.text_utf16(&inner, &chain, &text, out, tally);
                            }
                            None => tally.member_binary += 1,
                        }
                    } else {
                        tally.members += 1;
                        tally.member_bytes += data.len() as u64;
                        self.text(&inner, &chain, data, out, tally);
                    }
                }
                Member::TooLarge { .. } => tally.member_too_large += 1,
                Member::Unsupported { name, why } => {
                    tally.unsupported += 1;
                    tally.note(GapKind::Unsupported, format!("{path}!{name}: {why}"));
                }
            }
            Ok(())
        };
        match archive::read(
            kind,
            path,
            data,
            self.opts.max_file_size,
            budget,
            &mut visit,
        ) {
            Ok(()) => Ok(()),
            Err(stop) if stop.is_limit() => {
                self.stopped_at
                    .borrow_mut()
                    .get_or_insert_with(|| path.to_owned());
                Err(stop)
            }
            Err(stop) => {
                tally.corrupt += 1;
                tally.note(GapKind::Corrupt, format!("{path}: {stop}"));
                Ok(())
            }
        }
    }

    /// Scans UTF-16 text read as UTF-8 (positions are in the UTF-8 text); its findings say
    /// they were decoded from UTF-16.
    fn text_utf16(
        &self,
        path: &str,
        members: &[String],
        text: &[u8],
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let first = out.len();
        self.text(path, members, text, out, tally);
        for f in &mut out[first..] {
            if !f.secret.expose_secret().is_empty() {
                f.decoded.insert(0, vigil_report::Encoding::Utf16);
            }
        }
    }

    /// Scans text: as written, then decoded; drops what inline markers allow.
    fn text(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let rules = self.rules;
        let commit = self.commit;
        if rules.skips_path(path) {
            return;
        }
        let first = out.len();
        rules.path_findings(path, commit, out);
        let mut plain = rules.hits(path, commit, data);
        let decoded = decode::scan(rules, path, commit, data, self.opts.max_decode_depth);
        tally.decoded += decoded.segments;
        if decoded.stopped {
            tally.decode_stopped += 1;
            tally.note(GapKind::DecodeStopped, path.to_owned());
        }
        if decoded.too_deep {
            tally.decode_too_deep += 1;
            tally.note(GapKind::DecodeTooDeep, path.to_owned());
        }
        let overlaps = |a: &Hit, b: &Hit| a.start < b.end && b.start < a.end;
        // One finding per place, as the engine merges: a specific rule wins over the generic
        // one, then the earlier rule; between a secret as written and as decoded by the same
        // rule, the one as written.
        let mut kept: Vec<decode::DecodedHit> = Vec::new();
        for d in decoded.hits {
            if plain
                .iter()
                .any(|p| overlaps(p, &d.hit) && !rules.better(&d.hit, p))
                || kept.iter().any(|k| {
                    k.hit.rule == d.hit.rule && overlaps(&k.hit, &d.hit) && k.secret == d.secret
                })
            {
                continue;
            }
            kept.push(d);
        }
        plain.retain(|p| {
            !(rules.rules[p.rule as usize].generic
                && kept
                    .iter()
                    .any(|d| overlaps(p, &d.hit) && rules.better(&d.hit, p)))
        });
        if plain.is_empty() && kept.is_empty() {
            for f in &mut out[first..] {
                f.archive = members.to_vec();
            }
            return;
        }
        let lines = LineIndex::new(data);
        let markers = Markers::new(data, &lines);
        for h in &plain {
            if markers.allows(&lines, h.m_start, h.m_end) {
                tally.allowed_by_marker += 1;
                continue;
            }
            out.push(rules.finding_at(h, path, commit, data, &lines));
        }
        for d in kept {
            if markers.allows(&lines, d.hit.m_start, d.hit.m_end) {
                tally.allowed_by_marker += 1;
                continue;
            }
            out.push(rules.decoded_finding(&d, path, commit, &lines));
        }
        for f in &mut out[first..] {
            f.archive = members.to_vec();
        }
    }
}

impl Ruleset {
    /// A finding for a secret found in decoded text: placed on the encoded text, holding the
    /// secret as decoded.
    fn decoded_finding(
        &self,
        d: &decode::DecodedHit,
        path: &str,
        commit: Option<&str>,
        lines: &LineIndex,
    ) -> Finding {
        let r = &self.rules[d.hit.rule as usize];
        let (line, column) = lines.position(d.hit.start);
        let (end_line, end_column) = lines.position(d.hit.end);
        let mut f = self.finding(r, path, commit, &d.secret);
        f.line = line;
        f.column = column;
        f.end_line = end_line;
        f.end_column = end_column;
        f.decoded = d.chain.clone();
        f.seal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// The engine's own work (see `engine::charge`) and the findings, for one buffer.
    fn work(rules: &Ruleset, path: &str, data: &[u8]) -> (u64, usize) {
        crate::engine::WORK.with(|w| w.set(0));
        let (mut out, mut tally) = (Vec::new(), ContentTally::default());
        scan(
            rules,
            &ContentOptions::default(),
            path,
            None,
            data,
            &mut out,
            &mut tally,
        );
        (crate::engine::WORK.with(|w| w.get()), out.len())
    }

    /// Black-box finding 11: one long line of `token=` (and other repeated shapes) made the work
    /// per keyword hit grow with the line, so a 2.4 MB line took 14 s. Doubling the input must
    /// at most double the work.
    #[test]
    fn work_grows_linearly_on_long_repetitive_input() {
        let rules = Ruleset::builtin();
        let b64 = base64::engine::general_purpose::STANDARD.encode("password=hunter2-hunter2");
        type Make = Box<dyn Fn(usize) -> String>;
        let cases: Vec<(&str, &str, Make)> = vec![
            ("token=", "a.txt", Box::new(|n| "token=".repeat(n))),
            (
                "token=…;",
                "a.js",
                Box::new(|n| "token=abcdef1234;".repeat(n)),
            ),
            (
                "PEM headers",
                "a.txt",
                Box::new(|n| "-----BEGIN PRIVATE KEY-----\n".repeat(n)),
            ),
            (
                "sealed-looking",
                "a.txt",
                Box::new(|n| "secret=vseal:Ab1=".repeat(n)),
            ),
            (
                "base64 runs",
                "a.txt",
                Box::new(move |n| format!("{b64} ").repeat(n)),
            ),
            (
                "markers",
                "a.txt",
                Box::new(|n| "password=Xk9Qw2Lp7Zr4mTy8 gitleaks:allow ".repeat(n)),
            ),
        ];
        // Work that grows with the input squared would quadruple; linear work doubles, plus a
        // little where a window's fixed reach (64 KiB for multi-line rules) is cut by the end.
        for (name, path, make) in cases {
            let n = 8000;
            let (w1, _) = work(&rules, path, make(n).as_bytes());
            let (w2, _) = work(&rules, path, make(2 * n).as_bytes());
            assert!(w1 > 0, "{name}: no work counted");
            assert!(
                w2 <= 2 * w1 + w1 / 2 + 4096,
                "{name}: work went from {w1} to {w2} when the input doubled"
            );
        }
    }

    #[test]
    fn utf16_is_told_from_binary() {
        let text = "password = Xk9Qw2Lp7Zr4mTy8\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, bom) in [(&le, [0xFF, 0xFE]), (&be, [0xFE, 0xFF])] {
            assert_eq!(utf16(bytes).as_deref(), Some(text.as_bytes()));
            let with = [bom.as_slice(), bytes].concat();
            assert_eq!(utf16(&with).as_deref(), Some(text.as_bytes()));
        }
        let accented: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("mot de passe: é".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            utf16(&accented).as_deref(),
            Some("mot de passe: é".as_bytes())
        );
        assert_eq!(
            utf16(&[0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 0, 9, 0, 0, 0]),
            None
        );
        assert_eq!(utf16(b"\x00\x00\x00\x00"), None);
    }
}
