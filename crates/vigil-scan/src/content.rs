//! One buffer's bytes to findings, whatever they came from (a file, stdin, a git blob, an
//! archive member): an archive is opened (`archive.rs`) and its members scanned the same way,
//! nested up to a depth; binary content has its printable runs scanned (ASCII and UTF-16LE, as
//! `strings -a` and `strings -el` list them); text is scanned by the rules as written, then
//! decoded (`decode.rs`) and scanned again; inline markers drop what their lines allow. A file
//! or blob over the size limit is scanned in overlapping chunks ([`scan_chunked`]), so memory
//! stays bounded and nothing readable is passed over.
//! Everything passed over or stopped is counted in a [`ContentTally`], which the scan's
//! outcome turns into skip counts and the reasons a scan is incomplete.

use crate::archive::{self, ArchiveLimits, Budget, Member, Stop};
use crate::decode;
use crate::engine::{Hit, LineIndex, Markers};
use crate::finding::Finding;
use crate::source::is_binary;
use crate::strings::Masks;
use crate::Ruleset;
use std::cell::RefCell;
use vigil_report::Encoding;

/// How deep to look into a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentOptions {
    /// Files, blobs and archive members larger than this are read in chunks.
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
    /// Archive members read as binary (their printable runs scanned).
    pub member_binary: u64,
    /// Encoded runs decoded and scanned.
    pub decoded: u64,
    /// Findings an inline marker allowed.
    pub allowed_by_marker: u64,
    /// Buffers read as UTF-16 or UTF-32 text.
    pub utf16: u64,
    /// Files, blobs and stdin read as binary: their printable runs (ASCII and UTF-16LE) scanned.
    pub binary: u64,
    /// Files and blobs over the size limit, scanned in overlapping chunks.
    pub chunked: u64,
    /// Archives over the size limit, not opened (their bytes scanned as binary).
    pub archive_too_large: u64,
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
    /// [`ContentTally::archive_too_large`].
    ArchiveTooLarge,
}

impl ContentTally {
    /// Adds another tally (of another file or thread).
    pub fn add(&mut self, o: &ContentTally) {
        self.archives += o.archives;
        self.members += o.members;
        self.member_bytes += o.member_bytes;
        self.member_binary += o.member_binary;
        self.decoded += o.decoded;
        self.allowed_by_marker += o.allowed_by_marker;
        self.utf16 += o.utf16;
        self.binary += o.binary;
        self.chunked += o.chunked;
        self.archive_too_large += o.archive_too_large;
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
            + self.archive_too_large
            > 0
    }
}

/// What a buffer turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Text, scanned.
    Text,
    /// Binary: its printable runs were scanned.
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
    scan_as(rules, opts, path, commit, data, out, tally, true)
}

/// [`scan`]; with `archives` false an archive's bytes are read as binary, unopened and
/// uncounted (a chunk of a larger file: [`scan_chunked`] counts the archive once).
#[allow(clippy::too_many_arguments)]
fn scan_as(
    rules: &Ruleset,
    opts: &ContentOptions,
    path: &str,
    commit: Option<&str>,
    data: &[u8],
    out: &mut Vec<Finding>,
    tally: &mut ContentTally,
    archives: bool,
) -> Read {
    if rules.skips_path(path) {
        // A path allowlist leaves the whole buffer out (counted there), before any work on it.
        return Read::Text;
    }
    if let Some(kind) = archive::kind(data).filter(|_| archives) {
        if opts.max_archive_depth == 0 {
            // Not opened, as asked: a gap (what is inside was not looked at); its bytes are
            // still read as binary.
            tally.too_deep += 1;
            tally.note(GapKind::TooDeep, format!("{path} (depth 1)"));
            Scanner::new(rules, opts, commit).strings(path, &[], data, None, out, tally);
            return Read::Binary;
        }
        let budget = Budget::new(opts.archive_limits);
        let s = Scanner {
            rules,
            opts,
            commit,
            stopped_at: RefCell::new(None),
        };
        if let Err(stop) = s.open(kind, path, &[], data, 1, &budget, out, tally, false) {
            // A bomb limit stops the whole archive, once, named where it tripped.
            tally.limited += 1;
            let at = s.stopped_at.take().unwrap_or_else(|| path.to_owned());
            tally.note(GapKind::Limited, format!("{at}: {stop}"));
        }
        if kind == archive::Kind::Zip && !data.starts_with(b"PK") {
            // A zip behind a launch script or a program: what comes before it is read too.
            s.strings(path, &[], data, None, out, tally);
        }
        return Read::Archive;
    }
    let s = Scanner {
        rules,
        opts,
        commit,
        stopped_at: RefCell::new(None),
    };
    if archives && opts.max_archive_depth > 0 {
        s.embedded(path, data, out, tally);
    }
    if is_binary(data) {
        return if s.binary(path, &[], data, out, tally) {
            tally.utf16 += 1;
            Read::Text
        } else {
            tally.binary += 1;
            Read::Binary
        };
    }
    s.text(path, &[], data, out, tally);
    s.wide_after(path, &[], data, out, tally);
    Read::Text
}

/// A reading of wide code units: their width (2: UTF-16, 4: UTF-32), byte order, and the
/// alignment (offset modulo the width) of the bytes that hold their ASCII characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wide {
    width: usize,
    le: bool,
    align: usize,
}

impl Wide {
    /// The reading a whole buffer decoded as `width`-byte units of byte order `le` from its
    /// first byte (a byte-order mark is a whole unit) has: its characters' low bytes are at the
    /// start of each unit (little-endian) or at its end.
    fn new(width: usize, le: bool) -> Wide {
        Wide {
            width,
            le,
            align: if le { 0 } else { width - 1 },
        }
    }
}

/// [`scan`], or [`scan_chunked`] when `data` is over the size limit (a blob already in memory).
pub fn scan_any(
    rules: &Ruleset,
    opts: &ContentOptions,
    path: &str,
    commit: Option<&str>,
    data: &[u8],
    out: &mut Vec<Finding>,
    tally: &mut ContentTally,
) -> Read {
    if data.len() as u64 > opts.max_file_size {
        let mut r = data;
        // Reading a slice cannot fail.
        let _ = scan_chunked(rules, opts, path, commit, &mut r, out, tally);
        return Read::Text;
    }
    scan(rules, opts, path, commit, data, out, tally)
}

/// Bytes read per chunk of content over the size limit.
pub const CHUNK: usize = 8 << 20;

/// Bytes each chunk repeats of the one before: more than the longest match a built-in rule
/// makes (a multi-line rule reads 64 KiB from its keyword), so a secret cut by one chunk's end
/// is whole in the next.
pub const OVERLAP: usize = 128 << 10;

/// Scans content too large to hold at once (over `max_file_size`), read from `r` in chunks of
/// [`CHUNK`] bytes that overlap by [`OVERLAP`] (cut after a line break when one is near), each
/// scanned as [`scan`] does (binary chunks by their printable runs). Positions are the whole
/// content's; a finding the overlap shows twice is reported once. An archive this large is not
/// opened (its bytes are scanned as binary) and is counted: a gap. Returns the bytes read.
pub fn scan_chunked(
    rules: &Ruleset,
    opts: &ContentOptions,
    path: &str,
    commit: Option<&str>,
    r: &mut dyn std::io::Read,
    out: &mut Vec<Finding>,
    tally: &mut ContentTally,
) -> std::io::Result<u64> {
    if rules.skips_path(path) {
        // Left out whole by a path allowlist (counted there): not read.
        return Ok(0);
    }
    tally.chunked += 1;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let (mut lines_before, mut col_before) = (0usize, 0usize);
    let (mut total, mut first) = (0u64, true);
    let (mut binary, mut utf16) = (false, false);
    let mut prev: Vec<(String, usize, usize, usize, usize)> = Vec::new();
    loop {
        let mut eof = false;
        while buf.len() < CHUNK {
            let old = buf.len();
            buf.resize(CHUNK, 0);
            let n = loop {
                match r.read(&mut buf[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            buf.truncate(old + n);
            total += n as u64;
            if n == 0 {
                eof = true;
                break;
            }
        }
        if first && opts.max_archive_depth > 0 && archive::kind(&buf).is_some() {
            tally.archive_too_large += 1;
            tally.note(GapKind::ArchiveTooLarge, path.to_owned());
        }
        let mut found = Vec::new();
        let mut t = ContentTally::default();
        scan_as(rules, opts, path, commit, &buf, &mut found, &mut t, false);
        (binary, utf16) = (binary || t.binary > 0, utf16 || t.utf16 > 0);
        (t.binary, t.utf16) = (0, 0);
        tally.add(&t);
        let mut now = Vec::with_capacity(found.len());
        for mut f in found {
            let by_path = f.secret.expose_secret().is_empty();
            if by_path && !first {
                continue;
            }
            if f.line == 1 {
                f.column += col_before;
                // The line began in the chunk before: its UTF-16 count is not known here.
                if col_before > 0 {
                    f.columns_utf16 = None;
                }
            }
            if f.end_line == 1 {
                f.end_column += col_before;
            }
            f.line += lines_before;
            f.end_line += lines_before;
            f.reseal();
            let key = (f.rule.clone(), f.line, f.column, f.end_line, f.end_column);
            if !prev.contains(&key) {
                out.push(f);
            }
            now.push(key);
        }
        prev = now;
        first = false;
        if eof {
            break;
        }
        let from = buf.len() - OVERLAP;
        let next = memchr::memchr(b'\n', &buf[from..]).map_or(from, |p| from + p + 1);
        let nl = memchr::memchr_iter(b'\n', &buf[..next]).count();
        if nl > 0 {
            lines_before += nl;
            col_before = next - memchr::memrchr(b'\n', &buf[..next]).map_or(0, |p| p + 1);
        } else {
            col_before += next;
        }
        buf.drain(..next);
    }
    tally.binary += u64::from(binary);
    tally.utf16 += u64::from(utf16);
    Ok(total)
}

/// UTF-16 text (Windows `.reg`, `.ps1`, `.config` files often are) as UTF-8, and whether it is
/// little-endian: with a byte-order
/// mark, or without one when its first [`UTF16_PROBE`] bytes read as UTF-16 ASCII text (every
/// other byte zero, the others printable or line breaks). Unpaired surrogates become U+FFFD.
pub(crate) fn utf16(data: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (le, body) = match data {
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => {
            let probe = &data[..data.len().min(UTF16_PROBE) & !1];
            if probe.len() < 4 {
                return None;
            }
            let text = |c: u8| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r' | b'\t');
            let n = probe.len() / 2;
            // All but a few code units (non-ASCII letters) are ASCII: at least 95%, so the
            // walk stops at the first miss past 5% (binary content misses at once).
            let enough = |ascii: &dyn Fn(&[u8]) -> bool| {
                let mut misses = 0;
                probe.chunks_exact(2).all(|p| {
                    misses += usize::from(!ascii(p));
                    misses * 100 <= n * 5
                })
            };
            if enough(&|p| text(p[0]) && p[1] == 0) {
                (true, data)
            } else if enough(&|p| p[0] == 0 && text(p[1])) {
                (false, data)
            } else {
                return None;
            }
        }
    };
    // A last, incomplete unit is read with zeros for its missing bytes (little-endian: the
    // character byte is there; dropping it would cut a secret's last character).
    let units = body.chunks(2).map(|p| {
        let b = [p[0], p.get(1).copied().unwrap_or(0)];
        if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some((text.into_bytes(), le))
}

/// UTF-32 text as UTF-8: with a byte-order mark (`FF FE 00 00`, `00 00 FE FF`), or without
/// one when every code unit of its first [`UTF16_PROBE`] bytes is a Unicode scalar and at least
/// 95% of them are ASCII text. Invalid code units become U+FFFD.
pub(crate) fn utf32(data: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (le, body) = match data {
        [0xFF, 0xFE, 0, 0, rest @ ..] => (true, rest),
        [0, 0, 0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => {
            let probe = &data[..data.len().min(UTF16_PROBE) & !3];
            if probe.len() < 8 {
                return None;
            }
            let text = |c: u32| (0x20..0x7f).contains(&c) || matches!(c, 0x0a | 0x0d | 0x09);
            let units = |le: bool| {
                probe.chunks_exact(4).map(move |p| {
                    let a = [p[0], p[1], p[2], p[3]];
                    if le {
                        u32::from_le_bytes(a)
                    } else {
                        u32::from_be_bytes(a)
                    }
                })
            };
            let n = probe.len() / 4;
            let fits = |le: bool| {
                units(le).all(|u| char::from_u32(u).is_some())
                    && units(le).filter(|&u| text(u)).count() * 100 >= n * 95
            };
            if fits(true) {
                (true, data)
            } else if fits(false) {
                (false, data)
            } else {
                return None;
            }
        }
    };
    // A last, incomplete unit is read with zeros for its missing bytes (as in `utf16`).
    let text: String = body
        .chunks(4)
        .map(|p| {
            let a: [u8; 4] = std::array::from_fn(|k| p.get(k).copied().unwrap_or(0));
            let u = if le {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            };
            char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    Some((text.into_bytes(), le))
}

/// Bytes looked at to tell UTF-16 text without a byte-order mark from binary.
const UTF16_PROBE: usize = 8192;

/// The largest scratch copy a thread keeps between binary files.
const KEEP_SCRATCH: usize = 16 << 20;

thread_local! {
    /// Per-thread scratch for the ASCII copy of binary content.
    static ASCII: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Scanner<'a> {
    rules: &'a Ruleset,
    opts: &'a ContentOptions,
    commit: Option<&'a str>,
    /// The (nested) archive a bomb limit stopped in.
    stopped_at: RefCell<Option<String>>,
}

impl<'a> Scanner<'a> {
    fn new(rules: &'a Ruleset, opts: &'a ContentOptions, commit: Option<&'a str>) -> Self {
        Scanner {
            rules,
            opts,
            commit,
            stopped_at: RefCell::new(None),
        }
    }
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
        embedded: bool,
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
                        self.open(
                            k,
                            &inner,
                            &chain,
                            data,
                            depth + 1,
                            budget,
                            out,
                            tally,
                            false,
                        )?;
                    } else if data.len() as u64 > self.opts.max_file_size {
                        // Over the size limit: read in chunks, as a file is (bb-scan-s9 F2).
                        tally.members += 1;
                        tally.member_bytes += data.len() as u64;
                        let first = out.len();
                        let mut r = data;
                        // Reading a slice cannot fail.
                        let _ = scan_chunked(
                            self.rules,
                            self.opts,
                            &inner,
                            self.commit,
                            &mut r,
                            out,
                            tally,
                        );
                        for f in &mut out[first..] {
                            f.archive = chain.clone();
                            f.reseal();
                        }
                    } else if is_binary(data) {
                        tally.members += 1;
                        tally.member_bytes += data.len() as u64;
                        if self.binary(&inner, &chain, data, out, tally) {
                            tally.utf16 += 1;
                        } else {
                            tally.member_binary += 1;
                        }
                    } else {
                        tally.members += 1;
                        tally.member_bytes += data.len() as u64;
                        self.text(&inner, &chain, data, out, tally);
                        self.wide_after(&inner, &chain, data, out, tally);
                    }
                }
                Member::Name { name } => {
                    // Scanned as a name is (masked in every place that prints it), located at
                    // the archive (`release.tar!<name>`).
                    let (_, found) = crate::meta::scan_name(
                        self.rules,
                        self.opts,
                        name,
                        crate::finding::Place::Path,
                        |shown| format!("{path}!{shown}"),
                        tally,
                    );
                    for mut f in found {
                        f.archive = members.to_vec();
                        f.commit = self.commit.map(str::to_owned);
                        out.push(f.seal());
                    }
                }
                Member::Unsupported { name, why } => {
                    tally.unsupported += 1;
                    tally.note(GapKind::Unsupported, format!("{path}!{name}: {why}"));
                }
            }
            Ok(())
        };
        let read = if embedded {
            archive::read_embedded
        } else {
            archive::read
        };
        match read(kind, path, data, budget, &mut visit) {
            Ok(()) => Ok(()),
            Err(stop) if stop.is_limit() => {
                self.stopped_at
                    .borrow_mut()
                    .get_or_insert_with(|| path.to_owned());
                Err(stop)
            }
            // A guessed offset that does not open: the caller decides.
            Err(stop) if embedded => Err(stop),
            Err(stop) => {
                tally.corrupt += 1;
                tally.note(GapKind::Corrupt, format!("{path}: {stop}"));
                Ok(())
            }
        }
    }

    /// Opens the archives that start inside `data` (a self-extracting installer's tar.gz after
    /// its script, see [`archive::embedded`]), under one budget, members named as for any
    /// archive (`setup.run!payload/.env`). An offset that does not open as an archive was a
    /// chance signature and leaves no trace; one that opened and then broke is damaged (a gap),
    /// as is a bomb limit, and so are signatures past [`archive::MAX_EMBEDDED`].
    fn embedded(&self, path: &str, data: &[u8], out: &mut Vec<Finding>, tally: &mut ContentTally) {
        /// Bytes an embedded stream unpacks before it breaks that make it an archive, damaged,
        /// rather than bytes that look like a signature by chance.
        const OPENED_BYTES: u64 = 4096;
        let (found, more) = archive::embedded(data);
        if more {
            tally.limited += 1;
            tally.note(
                GapKind::Limited,
                format!(
                    "{path}: holds more than {} archive signatures",
                    archive::MAX_EMBEDDED
                ),
            );
        }
        if found.is_empty() {
            return;
        }
        let budget = Budget::new(self.opts.archive_limits);
        for (at, kind) in found {
            let mut t = ContentTally::default();
            let mut got = Vec::new();
            let before = budget.spent();
            let r = self.open(
                kind,
                path,
                &[],
                &data[at..],
                1,
                &budget,
                &mut got,
                &mut t,
                true,
            );
            // Opened: a member was read, or the stream unpacked a good deal before it broke
            // (a gzip cut short is damage, not a chance signature, which breaks at once).
            let opened = t.members + t.member_binary + t.unsupported > 0
                || budget.spent() - before >= OPENED_BYTES;
            match r {
                Err(stop) if stop.is_limit() => {
                    tally.limited += 1;
                    let at = self.stopped_at.take().unwrap_or_else(|| path.to_owned());
                    tally.note(GapKind::Limited, format!("{at}: {stop}"));
                    tally.add(&t);
                    out.append(&mut got);
                    return;
                }
                Err(stop) if opened => {
                    t.corrupt += 1;
                    t.note(GapKind::Corrupt, format!("{path}: {stop}"));
                }
                Err(_) => continue,
                Ok(()) if !opened => continue,
                Ok(()) => {}
            }
            tally.add(&t);
            out.append(&mut got);
        }
    }

    /// Scans UTF-16 or UTF-32 text read as UTF-8 (positions are in the UTF-8 text); its
    /// findings say what they were decoded from.
    fn text_wide(
        &self,
        path: &str,
        members: &[String],
        text: &[u8],
        from: Encoding,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let first = out.len();
        self.text(path, members, text, out, tally);
        for f in &mut out[first..] {
            if !f.secret.expose_secret().is_empty() {
                f.decoded.insert(0, from);
            }
        }
    }

    /// Binary content (a NUL in its first bytes): read as UTF-16 or UTF-32 text when it is
    /// that (a byte-order mark, or the probe: `utf16`, `utf32`), and by its printable runs in
    /// every case. A decoding can be wrong for part of the content (ASCII appended to UTF-16
    /// text, UTF-16 at an odd offset, a byte-order mark in front of other bytes), and one NUL
    /// must not hide a secret. A secret both readings find on one line is reported once, as
    /// decoded. Returns whether it was read as wide text.
    fn binary(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) -> bool {
        let decoded = match utf32(data) {
            Some((text, le)) => Some((text, Encoding::Utf32, Wide::new(4, le))),
            None => utf16(data).map(|(text, le)| (text, Encoding::Utf16, Wide::new(2, le))),
        };
        let Some((text, from, read)) = decoded else {
            self.strings(path, members, data, None, out, tally);
            return false;
        };
        self.text_wide(path, members, &text, from, out, tally);
        // Every other reading of the bytes; the runs the decoding read are not read twice.
        let mut runs = Vec::new();
        self.strings(path, members, data, Some(read), &mut runs, tally);
        // Path rules were reported by the decoded reading.
        runs.retain(|f| !f.secret.expose_secret().is_empty());
        out.extend(runs);
        true
    }

    /// Text with a NUL past the bytes that tell binary from text (a log that turned to UTF-16
    /// part way): its UTF-16LE and UTF-32LE runs are read too.
    fn wide_after(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        if memchr::memchr(0, data).is_some() {
            self.wide_runs(path, members, data, &Masks::new(data), None, out, tally);
        }
    }

    /// The printable runs of binary content, found in one pass over it (`strings.rs`): ASCII
    /// runs of at least 4 characters, one after another with a line break between two (so no
    /// match spans two runs), then UTF-16LE and UTF-32LE runs at every byte alignment, looked
    /// for only where NUL-interleaved text is, marked `decoded: utf-16` (`utf-32`); each
    /// finding placed where its bytes are in the file.
    fn strings(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        read: Option<Wide>,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let masks = Masks::new(data);
        // The runs are gathered in a buffer kept per thread (taken, so a nested call gets its
        // own): fresh pages for every binary file cost more than reading it.
        let mut ascii = ASCII.with_borrow_mut(std::mem::take);
        let mut starts = Vec::new();
        let n = masks.runs(data, &mut ascii, &mut starts);
        self.runs_placed(
            path,
            members,
            data,
            (&ascii[..n], &starts),
            1,
            None,
            out,
            tally,
        );
        if ascii.capacity() <= KEEP_SCRATCH {
            ASCII.with_borrow_mut(|a| *a = ascii);
        }
        self.wide_runs(path, members, data, &masks, read, out, tally);
    }

    /// The UTF-16 and UTF-32 runs of `data` (whose masks are `masks`), little- and big-endian,
    /// at every alignment but the one `read` (a decoding of the whole buffer) covered, scanned
    /// and placed. A run both byte orders read (`\0k\0e\0y\0`) is reported once.
    #[allow(clippy::too_many_arguments)]
    fn wide_runs(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        masks: &Masks,
        read: Option<Wide>,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let first = out.len();
        for (width, le, from) in [
            (2, true, Encoding::Utf16),
            (4, true, Encoding::Utf32),
            (2, false, Encoding::Utf16),
            (4, false, Encoding::Utf32),
        ] {
            // The decoding read every unit whose character byte sits at its alignment, in
            // either byte order (a big-endian unit's zero is the little-endian one before).
            let skip = read.filter(|r| r.width == width).map(|r| r.align);
            let (text, starts) = masks.wide(data, width, le, skip);
            if !text.is_empty() {
                self.runs_placed(
                    path,
                    members,
                    data,
                    (&text, &starts),
                    width,
                    Some(from),
                    out,
                    tally,
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut found = out.split_off(first);
        found.retain(|f| {
            seen.insert((
                f.rule.clone(),
                f.secret.expose_secret().clone(),
                (f.line, f.column, f.end_line, f.end_column),
            ))
        });
        out.extend(found);
    }

    /// The runs of binary content (`text.0`, line `n` starting at byte `text.1[n - 1]` of
    /// `data`, a character's byte) of `width`-byte code units (1: ASCII; 2: UTF-16 and 4:
    /// UTF-32, read `from` that encoding), scanned and placed on their bytes. Rules that match by path alone are
    /// reported by the ASCII pass only.
    #[allow(clippy::too_many_arguments)]
    fn runs_placed(
        &self,
        path: &str,
        members: &[String],
        data: &[u8],
        (text, starts): (&[u8], &[usize]),
        width: usize,
        from: Option<Encoding>,
        out: &mut Vec<Finding>,
        tally: &mut ContentTally,
    ) {
        let first = out.len();
        self.text(path, members, text, out, tally);
        if from.is_some() {
            let mut found = out.split_off(first);
            found.retain(|f| !f.secret.expose_secret().is_empty());
            out.extend(found);
        }
        if out.len() == first {
            return;
        }
        let lines = LineIndex::new(data);
        let place = |line: usize, col: usize| {
            let at = starts.get(line.wrapping_sub(1)).copied().unwrap_or(0)
                + width * col.saturating_sub(1);
            lines.position(at.min(data.len()))
        };
        for f in &mut out[first..] {
            if f.secret.expose_secret().is_empty() {
                continue; // a path rule's: no place in the content
            }
            (f.line, f.column) = place(f.line, f.column);
            (f.end_line, f.end_column) = place(f.end_line, f.end_column);
            f.columns_utf16 = None;
            if let Some(from) = from {
                f.decoded.insert(0, from);
            }
            f.reseal();
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
        // The text as written and behind its escapes (`{\"password\":\"…\"}`, JSON kept in a
        // JSON string; `\nghp_…`): a hit only the escape view has is reported where it sits.
        let overlaps = |a: &Hit, b: &Hit| a.start < b.end && b.start < a.end;
        let mut plain = rules.hits_with_view(path, commit, data);
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
        let at = &lines;
        for h in &plain {
            if markers.allows(&lines, h.m_start, h.m_end) {
                tally.allowed_by_marker += 1;
                continue;
            }
            out.push(rules.finding_at(h, path, commit, data, at));
        }
        for d in kept {
            if markers.allows(&lines, d.hit.m_start, d.hit.m_end) {
                tally.allowed_by_marker += 1;
                continue;
            }
            out.push(rules.decoded_finding(&d, path, commit, data, at));
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
        data: &[u8],
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
        f.columns_utf16 = lines.utf16_columns(data, d.hit.start, d.hit.end);
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
        let (out, _, _) = scanned(rules, path, data);
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

    /// The keyword search lowercases one chunk at a time: a keyword across a chunk's end is
    /// found as anywhere else.
    #[test]
    fn keywords_across_a_chunk_boundary_are_found() {
        let rules = Ruleset::builtin();
        let gh = crate::examples::expand(
            "«ghp_{alnum:30}{ghcrc}»",
            &mut crate::examples::Gen::new(77),
        )
        .unwrap();
        let gh = &gh.text[gh.secret];
        for pad in (32 << 10) - 24..(32 << 10) + 2 {
            let data = format!("{}\nx{gh} API_KEY=Xk9Qw2Lp7Zr4mTy8Vb3N\n", "a".repeat(pad)); // vigil:allow
            let (_, n) = work(&rules, "a.txt", data.as_bytes());
            assert_eq!(n, 2, "padding {pad}");
        }
    }

    /// The findings, tally and reading of one buffer scanned with the default options.
    fn scanned(rules: &Ruleset, path: &str, data: &[u8]) -> (Vec<Finding>, ContentTally, Read) {
        let mut out = Vec::new();
        let mut tally = ContentTally::default();
        let read = scan_any(
            rules,
            &ContentOptions::default(),
            path,
            None,
            data,
            &mut out,
            &mut tally,
        );
        (out, tally, read)
    }

    /// A name spelled with a `\u` escape and a value behind a short escape (`\"`, `\t`): the
    /// decoded text is read in its escape view too (helper-136 F1, missed before).
    #[test]
    fn an_escaped_name_before_an_escaped_value_is_found() {
        let rules = Ruleset::builtin();
        let mut g = crate::examples::Gen::new(7);
        let v = crate::examples::expand("«{alnum:24}»", &mut g).unwrap();
        let v = &v.text[v.secret];
        for text in [
            format!("{{\"t\":\"\\u0061pi_key=\\\"{v}\\\"\"}}\n"),
            format!("{{\"t\":\"{{\\\"\\u0061pi_key\\\": \\\"{v}\\\"}}\"}}\n"),
            format!("\\u0061pi_key=\\\"{v}\\\"\n"),
            format!("{{\"t\":\"tok\\u0065n: \\\"{v}\\\"\"}}\n"),
            format!("{{\"t\":\"\\u0070assword=\\t{v}\"}}\n"),
        ] {
            let (found, ..) = scanned(&rules, "a.json", text.as_bytes());
            assert!(
                found.iter().any(|f| f.rule == "generic-api-key"),
                "{} holds a secret: {found:?}",
                text.replace(v, "V")
            );
        }
    }

    /// A binary file's runs are read one after another, without the bytes around them: each
    /// finding is still placed on its own bytes in the file (line and byte column of the file),
    /// after junk, after a line break inside a run, after a lone line break in the junk, and
    /// for UTF-16 text.
    #[test]
    fn binary_findings_are_placed_on_their_bytes() {
        let rules = Ruleset::builtin();
        let mut g = crate::examples::Gen::new(5);
        let mut gh = || {
            let t = crate::examples::expand("«ghp_{alnum:30}{ghcrc}»", &mut g).unwrap();
            t.text[t.secret].to_string()
        };
        let (a, b, c, d) = (gh(), gh(), gh(), gh());
        let mut data: Vec<u8> = vec![0, 1, 2, 0xff, 0x90];
        let mut at = Vec::new();
        at.push(data.len());
        data.extend_from_slice(a.as_bytes());
        data.extend_from_slice(&[0, 0x7f, 3]);
        data.extend_from_slice(b"note: the key\n  ");
        at.push(data.len());
        data.extend_from_slice(b.as_bytes());
        data.extend_from_slice(&[0x80, b'\n', 0x81, 0, 0, 9]);
        at.push(data.len());
        data.extend_from_slice(c.as_bytes());
        data.extend_from_slice(&[0xc0, 0xc1, 0]);
        at.push(data.len());
        data.extend(d.bytes().flat_map(|x| [x, 0]));
        data.extend_from_slice(&[0xfe, 0xfd]);
        // Line and 1-based byte column of an offset, counted in the file as written.
        let pos = |off: usize| {
            let before = &data[..off];
            let line = before.iter().filter(|&&x| x == b'\n').count() + 1;
            let col = off
                - before
                    .iter()
                    .rposition(|&x| x == b'\n')
                    .map_or(0, |p| p + 1)
                + 1;
            (line, col)
        };
        let (out, _, read) = scanned(&rules, "x.bin", &data);
        assert_eq!(read, Read::Binary);
        let mut got: Vec<_> = out
            .iter()
            .map(|f| {
                (
                    f.secret.expose_secret().to_string(),
                    (f.line, f.column),
                    (f.end_line, f.end_column),
                )
            })
            .collect();
        got.sort_by_key(|g| g.1);
        let want: Vec<_> = [
            (&a, at[0], 1),
            (&b, at[1], 1),
            (&c, at[2], 1),
            (&d, at[3], 2),
        ]
        .into_iter()
        .map(|(t, off, width)| (t.clone(), pos(off), pos(off + width * t.len())))
        .collect();
        assert_eq!(got, want);
    }

    /// One NUL must not hide a secret, however the content is read: a byte-order mark in
    /// front of ASCII, ASCII appended to UTF-16 text, UTF-16 text after the bytes that tell
    /// binary from text, UTF-16 at an odd offset, a UTF-16 mark in front of UTF-32 (tester 129,
    /// F1-F4, F6). A real UTF-16 file reports its secret once.
    #[test]
    fn no_reading_of_wide_or_binary_content_hides_a_secret() {
        let rules = Ruleset::builtin();
        let t =
            crate::examples::expand("«ghp_{alnum:30}{ghcrc}»", &mut crate::examples::Gen::new(9))
                .unwrap();
        let gh = t.text[t.secret].to_string();
        let le16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let le32 =
            |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect() };
        let line = format!("token={gh}\n");
        let word = line.trim_end();
        let be16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_be_bytes).collect() };
        let be32 =
            |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect() };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "mark, ASCII, NUL",
                [&b"\xff\xfe"[..], line.as_bytes(), b"\0"].concat(),
            ),
            (
                "UTF-16 text, then ASCII",
                [
                    le16("Harmless line.\r\n").repeat(40),
                    line.clone().into_bytes(),
                ]
                .concat(),
            ),
            (
                "ASCII, then UTF-16 past the probe",
                [vec![b'A'; 7998], b"\n".to_vec(), le16(&line)].concat(),
            ),
            (
                "UTF-16 at an odd offset",
                [vec![1u8], le16(&line).repeat(30)].concat(),
            ),
            (
                "UTF-16 mark, UTF-32 text",
                [b"\xff\xfe".to_vec(), le32(&line)].concat(),
            ),
            // Tester 130: a byte, then big-endian text to the end (read as little-endian from
            // the first byte, whose last unit has one byte); big-endian after a NUL in text,
            // and inside a binary before junk.
            (
                "a byte, then UTF-16BE",
                [b"Q".to_vec(), be16(word)].concat(),
            ),
            (
                "a byte, then UTF-32BE",
                [b"Q".to_vec(), be32(word)].concat(),
            ),
            (
                "text, NUL, UTF-16BE",
                [b"hello\x00world\n".to_vec(), be16(word)].concat(),
            ),
            (
                "binary, UTF-16BE, junk",
                [vec![7u8; 64], vec![0], be16(word), vec![0xff, 0x80]].concat(),
            ),
        ];
        for (name, data) in cases {
            let (out, _, _) = scanned(&rules, "x", &data);
            assert!(
                out.iter().any(|f| f.secret.expose_secret() == &gh),
                "{name}: missed"
            );
        }
        // A character holding a 0x0A byte (U+010A) before the secret does not make it twice.
        let real = [
            b"\xff\xfe".to_vec(),
            le16(&format!("line one\r\n\u{10a} {line}")),
        ]
        .concat();
        let (out, _, _) = scanned(&rules, "x", &real);
        let found: Vec<_> = out.iter().map(|f| (f.line, f.decoded.clone())).collect();
        assert_eq!(found, vec![(2, vec![Encoding::Utf16])]);
    }

    /// A gzip stream inside a program that unpacks for a while and then breaks (cut short) is
    /// a damaged archive, a gap, not a chance signature (tester 129 F7); bytes that only look
    /// like a gzip header are still passed over.
    #[test]
    fn an_embedded_gzip_cut_short_is_damage() {
        use std::io::Write as _;
        let rules = Ruleset::builtin();
        let body: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("log line {i} ok\n").into_bytes())
            .collect();
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&body).unwrap();
        let gz = z.finish().unwrap();
        let head = b"\x7fELF\x00\x00junkjunk".repeat(10);
        let scan = |data: &[u8]| {
            let (_, tally, _) = scanned(&rules, "x.bin", data);
            tally.corrupt
        };
        assert_eq!(scan(&[&head[..], &gz].concat()), 0, "whole");
        assert_eq!(
            scan(&[&head[..], &gz[..gz.len() / 2]].concat()),
            1,
            "cut short"
        );
        let chance = [
            &head[..],
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe\xfd\x01\x02",
            &head[..],
        ]
        .concat();
        assert_eq!(scan(&chance), 0, "a chance signature");
    }

    /// An inline marker never reaches across a break an editor shows as a new line (a lone
    /// `\r`, U+2028, a form feed; tester 131): the line above or below is not allowed by it.
    /// CRLF line ends are one line break.
    #[test]
    fn markers_stop_at_breaks_the_eye_sees() {
        let rules = Ruleset::builtin();
        let t =
            crate::examples::expand("«ghp_{alnum:30}{ghcrc}»", &mut crate::examples::Gen::new(4))
                .unwrap();
        let gh = t.text[t.secret].to_string();
        let found = |text: String| {
            let (out, _, _) = scanned(&rules, "a.py", text.as_bytes());
            out.iter().any(|f| f.secret.expose_secret() == &gh)
        };
        assert!(
            found(format!("a = \"{gh}\"\r# gitleaks:allow\n")),
            "lone CR"
        );
        assert!(
            found(format!("a = \"{gh}\"\u{2028}# gitleaks:allow\n")),
            "U+2028"
        );
        assert!(
            found(format!("a = \"{gh}\"\x0c# gitleaks:allow\n")),
            "form feed"
        );
        assert!(
            found(format!(
                "# pragma: allowlist nextline secret\nx=1\ry = \"{gh}\"\n"
            )),
            "next line, lone CR"
        );
        assert!(
            !found(format!("a = \"{gh}\"  # gitleaks:allow\r\n")),
            "CRLF, same line"
        );
        assert!(
            !found(format!(
                "# pragma: allowlist nextline secret\r\ny = \"{gh}\"\r\n"
            )),
            "CRLF, next line"
        );
    }

    #[test]
    fn utf16_is_told_from_binary() {
        let text = "password = Xk9Qw2Lp7Zr4mTy8\r\n"; // vigil:allow (a fixture)
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, bom) in [(&le, [0xFF, 0xFE]), (&be, [0xFE, 0xFF])] {
            assert_eq!(utf16(bytes).map(|t| t.0).as_deref(), Some(text.as_bytes()));
            let with = [bom.as_slice(), bytes].concat();
            assert_eq!(utf16(&with).map(|t| t.0).as_deref(), Some(text.as_bytes()));
        }
        let accented: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("mot de passe: é".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            utf16(&accented).map(|t| t.0).as_deref(),
            Some("mot de passe: é".as_bytes())
        );
        assert_eq!(
            utf16(&[0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 0, 9, 0, 0, 0]),
            None
        );
        assert_eq!(utf16(b"\x00\x00\x00\x00"), None);
    }
}
