//! Archives, recognised by their magic bytes rather than their names (a `docker save` layer
//! has no extension): zip (and jar, whl, apk, nupkg, which are zips), tar, gzip (tar.gz and
//! tgz as one archive), and the xz, bzip2 and zstd streams (tar.xz, tar.bz2, tar.zst and
//! zstd OCI layers as one archive). Reading is the `zip`, `tar`, `flate2`, `lzma-rs`, `bzip2`
//! and `ruzstd` crates'; this module decides what is read, and stops what could not end well.
//!
//! Limits against bombs, shared by an archive and everything nested in it: total bytes
//! unpacked, entries, and expansion ratio (checked as bytes come out of a decompressor, so a
//! gigabyte of zeros stops after its first megabyte). A limit that stops an archive is a
//! [`Stop`]: the caller counts it and the scan reports itself incomplete. A member larger than
//! the file size limit is read whole all the same (within the byte budget) and the caller scans
//! it in chunks, as it would a file: nothing is skipped for its size.

use std::cell::Cell;
use std::fmt;
use std::io::{Cursor, Read};
use std::rc::Rc;

/// Limits against decompression bombs, per archive (with everything nested in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Bytes unpacked in total.
    pub max_bytes: u64,
    /// Members read in total.
    pub max_entries: u64,
    /// Bytes out per byte in, once more than [`RATIO_FLOOR`] bytes came out of one stream.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_bytes: 256 << 20,
            max_entries: 100_000,
            max_ratio: 100,
        }
    }
}

/// The ratio limit applies once a stream has given this many bytes: small, very compressible
/// files (a config of repeated lines) are not bombs.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// An archive format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PKZIP (jar, whl, apk, nupkg, docx…).
    Zip,
    /// POSIX or GNU tar.
    Tar,
    /// gzip (its content may be a tar).
    Gzip,
    /// xz (its content may be a tar).
    Xz,
    /// bzip2 (its content may be a tar).
    Bzip2,
    /// Zstandard (its content may be a tar: a zstd OCI layer).
    Zstd,
}

/// The archive format of `data`, from its magic bytes: at its start, or for a zip also an
/// end-of-central-directory record near its end whose directory lies inside it (a
/// self-extracting or "fully executable" jar starts with a launch script or a program).
pub fn kind(data: &[u8]) -> Option<Kind> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    if zip_at_end(data) {
        return Some(Kind::Zip);
    }
    if data.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Some(Kind::Gzip);
    }
    if data.starts_with(b"\xFD7zXZ\x00") {
        return Some(Kind::Xz);
    }
    if data.len() >= 10
        && data.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&data[3])
        && (data[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || data[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        return Some(Kind::Bzip2);
    }
    if data.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Some(Kind::Zstd);
    }
    if data.len() >= 512 && &data[257..262] == b"ustar" {
        return Some(Kind::Tar);
    }
    None
}

/// Signatures of archives that start inside a buffer looked at, at most: past this many, the
/// rest are not tried (and the caller says so).
pub const MAX_EMBEDDED: usize = 256;

/// Archives that start inside `data` rather than at its start, as a self-extracting installer
/// holds them (makeself's `.run`: a shell script with a tar.gz appended; a program with a
/// tar behind it): gzip streams (`1f 8b 08` and a flags byte with its reserved bits clear) and
/// the first tar header (`ustar` at 257, its checksum right), at most [`MAX_EMBEDDED`], with
/// whether more were passed over. A zip with a prefix is [`kind`]'s already. Offsets are
/// guesses: the caller reads each as [`read_embedded`] does and drops what does not open.
pub fn embedded(data: &[u8]) -> (Vec<(usize, Kind)>, bool) {
    let mut out = Vec::new();
    // Neither format can start in text without a zero or 0x1f byte.
    if memchr::memchr2(0, 0x1f, data).is_none() {
        return (out, false);
    }
    let mut more = false;
    for p in memchr::memmem::find_iter(data, &[0x1f, 0x8b, 0x08]) {
        if p == 0 || data.get(p + 3).is_none_or(|f| f & 0xe0 != 0) {
            continue;
        }
        if out.len() >= MAX_EMBEDDED {
            more = true;
            break;
        }
        out.push((p, Kind::Gzip));
    }
    for q in memchr::memmem::find_iter(data, b"ustar") {
        let Some(h) = q.checked_sub(257) else {
            continue;
        };
        if h > 0 && h + 512 <= data.len() && tar_checksum_ok(&data[h..h + 512]) {
            out.push((h, Kind::Tar));
            break;
        }
    }
    out.sort_by_key(|&(p, _)| p);
    (out, more)
}

/// Whether a 512-byte tar header's checksum field matches its bytes (the field counted as
/// spaces), as tar readers check it.
fn tar_checksum_ok(h: &[u8]) -> bool {
    let field = &h[148..156];
    let digits: String = field
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .skip_while(|&&b| b == b' ')
        .map(|&b| b as char)
        .collect();
    let Ok(want) = u32::from_str_radix(digits.trim(), 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == want
}

/// [`read`] for an archive found inside a buffer ([`embedded`]): a gzip stream is read alone,
/// not with what follows it.
pub fn read_embedded(
    kind: Kind,
    name: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    if kind != Kind::Gzip {
        return read(kind, name, data, budget, visit);
    }
    let consumed = Rc::new(Cell::new(0));
    let counted = Counted {
        inner: data,
        count: consumed.clone(),
    };
    gzip_read(
        name,
        flate2::read::GzDecoder::new(counted),
        consumed,
        budget,
        visit,
    )
}

/// The end-of-central-directory record is 22 bytes plus a comment of at most 64 KiB.
const EOCD_REACH: usize = 22 + 0xFFFF;

/// Whether `data` ends with a zip end-of-central-directory record (searched from the end, as
/// zip readers do) that names a central directory starting with `PK\x01\x02` before it.
fn zip_at_end(data: &[u8]) -> bool {
    zip_end(data).is_some()
}

/// Where the zip end-of-central-directory record that [`zip_at_end`] finds ends (its comment
/// included): bytes past it are no part of the zip.
fn zip_end(data: &[u8]) -> Option<usize> {
    if data.len() < 22 {
        return None;
    }
    let from = data.len().saturating_sub(EOCD_REACH);
    let tail = &data[from..];
    // The last record, found forwards: the forward searcher has a vector prefilter (the
    // reverse one has none, and every file scanned passes here), and the signature cannot
    // overlap itself, so the last of the non-overlapping matches is the last one.
    static EOCD: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"PK\x05\x06"));
    let p = EOCD.find_iter(tail).last()?;
    let rec = &tail[p..];
    if rec.len() < 22 {
        return None;
    }
    let u32le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let (cd_size, cd_offset) = (u32le(&rec[12..16]), u32le(&rec[16..20]));
    let comment = u16::from_le_bytes([rec[20], rec[21]]) as usize;
    let eocd = from + p;
    // With a prefix, the directory sits `cd_size` bytes before the record whatever the
    // offset says (which counts from the zip's own start).
    let cd = eocd.checked_sub(cd_size)?;
    (cd_size > 0 && cd_offset <= cd && data[cd..].starts_with(b"PK\x01\x02"))
        .then_some((eocd + 22 + comment).min(data.len()))
}

/// Why an archive was not read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// More bytes unpacked than [`ArchiveLimits::max_bytes`].
    Bytes(u64),
    /// More members than [`ArchiveLimits::max_entries`].
    Entries(u64),
    /// A stream expanded more than [`ArchiveLimits::max_ratio`] times.
    Ratio(u64),
    /// The archive is damaged (what the reader said).
    Corrupt(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Bytes(n) => write!(f, "unpacks to more than {}", vigil_core::size::human(*n)),
            Stop::Entries(n) => write!(f, "holds more than {n} entries"),
            Stop::Ratio(n) => write!(f, "expands more than {n} times (a compression bomb)"),
            Stop::Corrupt(m) => write!(f, "cannot be read: {m}"),
        }
    }
}

impl Stop {
    /// Whether a bomb limit stopped it (else the archive is damaged).
    pub fn is_limit(&self) -> bool {
        !matches!(self, Stop::Corrupt(_))
    }
}

/// One member of an archive, as handed to the visitor.
pub enum Member<'a> {
    /// A regular file and its bytes.
    File {
        /// Its name in the archive (`dir/file.env`).
        name: &'a str,
        /// Its bytes.
        data: &'a [u8],
    },
    /// The name of any entry (a file, a folder, a link) or a link's target: text an archive
    /// holds outside its members' bytes (a member named after a token).
    Name {
        /// The name or target.
        name: &'a str,
    },
    /// A member in a form that cannot be read (encrypted, an unsupported compression).
    Unsupported {
        /// Its name in the archive.
        name: &'a str,
        /// Why.
        why: String,
    },
}

/// What is left of an archive's limits while it is read (shared by the archives nested in
/// it).
#[derive(Debug)]
pub struct Budget {
    limits: ArchiveLimits,
    bytes: Cell<u64>,
    entries: Cell<u64>,
}

impl Budget {
    /// The full budget of one outermost archive.
    pub fn new(limits: ArchiveLimits) -> Self {
        Budget {
            limits,
            bytes: Cell::new(0),
            entries: Cell::new(0),
        }
    }

    /// The bytes unpacked so far under this budget.
    pub(crate) fn spent(&self) -> u64 {
        self.bytes.get()
    }

    fn entry(&self) -> Result<(), Stop> {
        self.entries.set(self.entries.get() + 1);
        if self.entries.get() > self.limits.max_entries {
            return Err(Stop::Entries(self.limits.max_entries));
        }
        Ok(())
    }

    fn charge(&self, n: u64) -> Result<(), Stop> {
        self.bytes.set(self.bytes.get() + n);
        if self.bytes.get() > self.limits.max_bytes {
            return Err(Stop::Bytes(self.limits.max_bytes));
        }
        Ok(())
    }
}

/// Reads every regular file of the archive in `data` (of kind `kind`), handing each to
/// `visit` whole (within the budget), in archive order. A stop `visit` returns (a limit
/// reached inside a nested archive) ends the reading. `name` is the archive's own name
/// (a gzip's member is named after it when its header names nothing).
pub fn read(
    kind: Kind,
    name: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    match kind {
        Kind::Zip => zip_members(data, budget, visit),
        Kind::Tar => tar_members(Cursor::new(data), budget, visit, None),
        Kind::Gzip => gzip_members(name, data, budget, visit),
        Kind::Xz | Kind::Bzip2 | Kind::Zstd => stream_members(kind, name, data, budget, visit),
    }
}

/// An xz, bzip2 or zstd stream: unpacked whole (within the byte budget and the ratio, as a
/// gzip is), then read as a tar when it is one, else handed over as one member named after
/// the file (`app.log.xz` gives `app.log`).
fn stream_members(
    kind: Kind,
    name: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let out = unpack(kind, data, budget)?;
    if self::kind(&out) == Some(Kind::Tar) {
        // The tar reader charges each entry.
        return tar_members(Cursor::new(&out[..]), budget, visit, None);
    }
    budget.entry()?;
    budget.charge(out.len() as u64)?;
    let inner_name = default_member_name(name);
    visit(Member::File {
        name: &inner_name,
        data: &out,
    })
}

/// The bytes of an xz, bzip2 or zstd stream (concatenated streams and frames too), unpacked
/// under the guard of [`Guard`]: no more than the byte budget, no more than the ratio.
fn unpack(kind: Kind, data: &[u8], budget: &Budget) -> Result<Vec<u8>, Stop> {
    let consumed = Rc::new(Cell::new(0));
    let mut counted = Counted {
        inner: data,
        count: consumed.clone(),
    };
    let mut out = Vec::new();
    let corrupt = |e: &dyn fmt::Display| Stop::Corrupt(e.to_string());
    match kind {
        Kind::Bzip2 => {
            let mut g = Guard::new(
                bzip2::read::MultiBzDecoder::new(counted),
                budget,
                consumed,
                false,
            );
            let r = g.read_to_end(&mut out);
            if let Some(s) = g.stop.take() {
                return Err(s);
            }
            r.map_err(|e| corrupt(&e))?;
        }
        Kind::Zstd => {
            // One frame after the other, each read to its end.
            let mut total = 0u64;
            while !counted.inner.is_empty() {
                let dec = ruzstd::decoding::StreamingDecoder::new(&mut counted)
                    .map_err(|e| corrupt(&e))?;
                let mut g = Guard::new(dec, budget, consumed.clone(), false);
                g.out = total;
                let r = g.read_to_end(&mut out);
                if let Some(s) = g.stop.take() {
                    return Err(s);
                }
                r.map_err(|e| corrupt(&e))?;
                total = g.out;
            }
        }
        _ => {
            // lzma-rs writes what it unpacks: the guard sits on the writing side.
            let mut input = std::io::BufReader::with_capacity(64 << 10, counted);
            let mut sink = Sink {
                out: &mut out,
                budget,
                consumed,
                stop: None,
            };
            let r = lzma_rs::xz_decompress(&mut input, &mut sink);
            if let Some(s) = sink.stop.take() {
                return Err(s);
            }
            r.map_err(|e| corrupt(&e))?;
        }
    }
    Ok(out)
}

/// [`Guard`] on the writing side of a decompressor that writes (lzma-rs).
struct Sink<'a, 'b> {
    out: &'a mut Vec<u8>,
    budget: &'b Budget,
    consumed: Rc<Cell<u64>>,
    stop: Option<Stop>,
}

impl std::io::Write for Sink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let limits = self.budget.limits;
        let n = (self.out.len() + buf.len()) as u64;
        let stop = if n > limits.max_bytes {
            Some(Stop::Bytes(limits.max_bytes))
        } else if n > RATIO_FLOOR && n > limits.max_ratio * self.consumed.get().max(1) {
            Some(Stop::Ratio(limits.max_ratio))
        } else {
            None
        };
        if let Some(s) = stop {
            self.stop = Some(s);
            return Err(std::io::Error::other("archive limit reached"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn zip_members(
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(data)).map_err(|e| Stop::Corrupt(e.to_string()))?;
    // The bytes before the zip its end record names: another zip in front of it (`cat A.zip
    // B.zip`) is read too, after it (bb-scan-s9 F3); a launch script or a program is not a zip.
    let prefix = usize::try_from(zip.offset()).map_or(0, |p| p.min(data.len()));
    let mut buf = Vec::new();
    // The archive's comment and its members' comments: text outside the members' bytes (tester
    // helper-117 H1), scanned as one more member.
    let mut comments: Vec<u8> = zip.comment().to_vec();
    for i in 0..zip.len() {
        // A symbolic link member's data is its target: text like any other (gitleaks reads it).
        let (name, is_file, encrypted, size, packed) = {
            let f = zip
                .by_index_raw(i)
                .map_err(|e| Stop::Corrupt(e.to_string()))?;
            if !f.comment().is_empty() {
                comments.push(b'\n');
                comments.extend_from_slice(f.comment().as_bytes());
            }
            // Extra fields are bytes a writer may fill with anything (tester helper-118 H3).
            if let Some(extra) = f.extra_data().filter(|e| !e.is_empty()) {
                comments.push(b'\n');
                comments.extend_from_slice(&extra[..]);
            }
            (
                f.name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(f.name_raw()).into_owned()),
                f.is_file() || f.is_symlink(),
                f.encrypted(),
                f.size(),
                f.compressed_size(),
            )
        };
        visit(Member::Name { name: &name })?;
        // A folder entry holding data (`folder/` with bytes) is read as a file: its name does
        // not make its bytes nothing (bb-scan-s9 F13).
        if !is_file && size == 0 {
            continue;
        }
        budget.entry()?;
        if encrypted {
            visit(Member::Unsupported {
                name: &name,
                why: "encrypted".into(),
            })?;
            continue;
        }
        let f = match zip.by_index(i) {
            Ok(f) => f,
            Err(zip::result::ZipError::CompressionMethodNotSupported(m)) => {
                visit(Member::Unsupported {
                    name: &name,
                    why: format!("compression method {m}"),
                })?;
                continue;
            }
            Err(e) => return Err(Stop::Corrupt(e.to_string())),
        };
        // The declared size may lie: read no more than the limits allow, and watch the ratio.
        let consumed = Rc::new(Cell::new(packed.max(1)));
        let mut g = Guard::new(f, budget, consumed, true);
        buf.clear();
        let read = g.read_to_end(&mut buf);
        let stop = g.stop.take();
        if let Some(s) = stop {
            return Err(s);
        }
        read.map_err(|e| Stop::Corrupt(e.to_string()))?;
        visit(Member::File {
            name: &name,
            data: &buf,
        })?;
    }
    // Bytes after the end record (and its comment): what a zip reader never reads, scanned.
    if let Some(end) = zip_end(data).filter(|&e| e < data.len()) {
        visit_text(AFTER_END, &data[end..], budget, visit)?;
    }
    if comments.iter().any(|b| !b.is_ascii_whitespace()) {
        budget.charge(comments.len() as u64)?;
        visit(Member::File {
            name: COMMENTS,
            data: &comments,
        })?;
    }
    if prefix > 0 && kind(&data[..prefix]) == Some(Kind::Zip) {
        zip_members(&data[..prefix], budget, visit)?;
    }
    Ok(())
}

/// The member name under which a zip's comments are scanned.
pub const COMMENTS: &str = "<comments>";

/// The member name under which a tar's extended headers (pax records) are scanned.
pub const HEADERS: &str = "<headers>";

/// The member name under which bytes after a tar's end (its two zero blocks) or after a zip's
/// end record are scanned.
pub const AFTER_END: &str = "<after the end>";

fn tar_members<R: Read>(
    reader: R,
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
    stopped: Option<&Cell<Option<Stop>>>,
) -> Result<(), Stop> {
    // What follows the end: another tar (`cat a.tar b.tar`, which `tar -i` reads) is read as
    // one, in a loop (a file of many small tars must not nest calls); any other bytes that are
    // not zeros are scanned as a member of their own.
    let mut rest = tar_once(reader, budget, visit, stopped)?;
    loop {
        let Some(first) = rest.iter().position(|&b| b != 0) else {
            return Ok(());
        };
        let block = first - first % 512;
        if kind(&rest[block..]) != Some(Kind::Tar) {
            return visit(Member::File {
                name: AFTER_END,
                data: &rest[first..],
            });
        }
        let next = std::mem::take(&mut rest);
        rest = tar_once(Cursor::new(&next[block..]), budget, visit, stopped)?;
    }
}

/// One tar's entries, then the bytes after its end (read within the budget).
fn tar_once<R: Read>(
    reader: R,
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
    stopped: Option<&Cell<Option<Stop>>>,
) -> Result<Vec<u8>, Stop> {
    let mut ar = tar::Archive::new(reader);
    let corrupt = |e: std::io::Error| match stopped.and_then(|s| s.take()) {
        Some(s) => s,
        None => Stop::Corrupt(e.to_string()),
    };
    let mut buf = Vec::new();
    // What a tar holds outside its members' bytes (tester helper-117 H1, helper-118 H2): every
    // entry's name and link target (as names), its pax records, the rest of its header (owner
    // and group names: the raw block, names blanked), the bytes of an entry of any type, and
    // what follows its end. Headers are scanned a megabyte at a time.
    let mut headers: Vec<u8> = Vec::new();
    let flush = |headers: &mut Vec<u8>,
                 visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>|
     -> Result<(), Stop> {
        if headers.iter().any(|&b| b != 0 && !b.is_ascii_whitespace()) {
            visit(Member::File {
                name: HEADERS,
                data: headers,
            })?;
        }
        headers.clear();
        Ok(())
    };
    for e in ar.entries().map_err(corrupt)? {
        let mut e = e.map_err(corrupt)?;
        let name = e
            .path()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| String::from_utf8_lossy(&e.path_bytes()).into_owned());
        visit(Member::Name { name: &name })?;
        if let Some(target) = e.link_name_bytes() {
            visit(Member::Name {
                name: &String::from_utf8_lossy(&target),
            })?;
        }
        if let Ok(Some(records)) = e.pax_extensions() {
            for r in records.flatten() {
                // The names are read above.
                if matches!(r.key_bytes(), b"path" | b"linkpath") {
                    continue;
                }
                headers.extend_from_slice(r.key_bytes());
                headers.push(b'=');
                headers.extend_from_slice(r.value_bytes());
                headers.push(b'\n');
            }
        }
        let mut raw = *e.header().as_bytes();
        // name, linkname, and ustar's prefix: read as names above; the checksum and magic,
        // so the copy is never taken for a tar of its own.
        for r in [0..100, 148..156, 157..265, 345..500] {
            raw[r].fill(0);
        }
        headers.extend_from_slice(&raw);
        headers.push(b'\n');
        if headers.len() >= 1 << 20 {
            flush(&mut headers, visit)?;
        }
        let kind = e.header().entry_type();
        let file = kind.is_file() || kind == tar::EntryType::Continuous;
        // A folder, a link, a device or an unknown type may hold bytes all the same.
        if !file && e.size() == 0 {
            continue;
        }
        budget.entry()?;
        budget.charge(e.size())?;
        buf.clear();
        e.read_to_end(&mut buf).map_err(corrupt)?;
        visit(Member::File {
            name: &name,
            data: &buf,
        })?;
    }
    flush(&mut headers, visit)?;
    // The reader stands after the first zero block of the end: the rest is read (within the
    // budget).
    buf.clear();
    let mut rest = ar.into_inner();
    let mut chunk = [0u8; 64 << 10];
    loop {
        match rest.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                budget.charge(n as u64)?;
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) => return Err(corrupt(e)),
        }
    }
    Ok(buf)
}

/// A gzip decoder whose header can be read (one member, or all of them).
trait GzRead: Read {
    fn gz_header(&self) -> Option<&flate2::GzHeader>;
}

impl<R: Read> GzRead for flate2::read::GzDecoder<R> {
    fn gz_header(&self) -> Option<&flate2::GzHeader> {
        self.header()
    }
}

fn gzip_members(
    name: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let consumed = Rc::new(Cell::new(0));
    let after = Rc::new(std::cell::RefCell::new(GzAfter::default()));
    let members = GzMembers {
        rest: Some(Counted {
            inner: data,
            count: consumed.clone(),
        }),
        current: None,
        index: 0,
        start: 0,
        first: None,
        after: after.clone(),
    };
    gzip_read(name, members, consumed, budget, visit)?;
    let after = after.take();
    // The later members' header fields, read as the first member's are.
    for n in &after.names {
        visit(Member::Name { name: n })?;
    }
    visit_text(HEADERS, &after.headers, budget, visit)?;
    // Bytes after the last member that are not one (`gzip -d` ignores them: "trailing garbage
    // ignored"), from the first that is not padding; and from where a later member broke.
    if let Some(at) = after.trailing {
        visit_text(AFTER_END, &data[at..], budget, visit)?;
    }
    match after.broken {
        Some(why) => Err(Stop::Corrupt(why)),
        None => Ok(()),
    }
}

/// What [`GzMembers`] leaves for the caller besides the bytes: later members' header fields,
/// where the bytes that are not a member start, and why a later member broke.
#[derive(Default)]
struct GzAfter {
    names: Vec<String>,
    headers: Vec<u8>,
    trailing: Option<usize>,
    broken: Option<String>,
}

/// A gzip file's members decoded one after the other (as `MultiGzDecoder` does). Zeros and
/// white space between members are padding. At the first bytes that do not start a member,
/// or at a later member that breaks, the bytes end (what was decoded before stays read).
struct GzMembers<'a> {
    /// The bytes not yet handed to a member's decoder.
    rest: Option<Counted<'a>>,
    current: Option<flate2::bufread::GzDecoder<Counted<'a>>>,
    /// The number of the current member (0: the first).
    index: usize,
    /// Where the current member starts.
    start: usize,
    /// The first member's header (its file name, comment and extra field).
    first: Option<flate2::GzHeader>,
    after: Rc<std::cell::RefCell<GzAfter>>,
}

impl GzMembers<'_> {
    /// Keeps a later member's header fields for the caller.
    fn note_header(&mut self, h: &flate2::GzHeader) {
        let mut after = self.after.borrow_mut();
        if let Some(f) = h.filename() {
            after.names.push(String::from_utf8_lossy(f).into_owned());
        }
        after.headers.extend(header_text(h));
    }
}

/// A gzip header's comment and extra field, a line each: text outside the member's bytes.
fn header_text(h: &flate2::GzHeader) -> Vec<u8> {
    let mut text = Vec::new();
    for part in [h.comment(), h.extra()].into_iter().flatten() {
        text.extend_from_slice(part);
        text.push(b'\n');
    }
    text
}

/// Scans `data`, bytes an archive holds outside its members (what follows its end, header
/// fields), as a member named `name`, charged to the budget; unless it is only zeros and white
/// space (padding).
fn visit_text(
    name: &str,
    data: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    if data.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Ok(());
    }
    budget.charge(data.len() as u64)?;
    visit(Member::File { name, data })
}

impl Read for GzMembers<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(d) = &mut self.current {
                let n = match d.read(buf) {
                    Ok(n) => n,
                    Err(e) if self.index > 0 => {
                        // What the earlier members held is read; the rest is damage, and its
                        // bytes are scanned as they are.
                        let mut after = self.after.borrow_mut();
                        after.broken = Some(format!("gzip member {}: {e}", self.index + 1));
                        after.trailing = Some(self.start);
                        self.current = None;
                        return Ok(0);
                    }
                    Err(e) => return Err(e),
                };
                if self.index == 0 && self.first.is_none() {
                    self.first = d.header().cloned();
                }
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                let done = self.current.take().expect("a member is being read");
                if self.index > 0 {
                    if let Some(h) = done.header().cloned() {
                        self.note_header(&h);
                    }
                }
                self.rest = Some(done.into_inner());
                self.index += 1;
                continue;
            }
            let Some(mut rest) = self.rest.take() else {
                return Ok(0);
            };
            let pad = rest
                .inner
                .iter()
                .take_while(|b| **b == 0 || b.is_ascii_whitespace())
                .count();
            if pad == rest.inner.len() {
                return Ok(0);
            }
            if !rest.inner[pad..].starts_with(&[0x1f, 0x8b]) {
                self.after.borrow_mut().trailing = Some(rest.count.get() as usize + pad);
                return Ok(0);
            }
            std::io::BufRead::consume(&mut rest, pad);
            self.start = rest.count.get() as usize;
            self.current = Some(flate2::bufread::GzDecoder::new(rest));
        }
    }
}

impl GzRead for GzMembers<'_> {
    fn gz_header(&self) -> Option<&flate2::GzHeader> {
        // Set by the first read, which comes before any question about the header.
        self.first.as_ref()
    }
}

fn gzip_read<G: GzRead>(
    name: &str,
    mut gz: G,
    consumed: Rc<Cell<u64>>,
    budget: &Budget,
    visit: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<(), Stop> {
    // The header (read with the first bytes) may name the file.
    let mut head = vec![0u8; 512];
    let mut got = 0;
    {
        let mut g = Guard::new(&mut gz, budget, consumed.clone(), true);
        while got < head.len() {
            match g.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => {
                    return Err(g.stop.take().unwrap_or(Stop::Corrupt(e.to_string())));
                }
            }
        }
    }
    head.truncate(got);
    // The header's file name, comment and extra field: text outside the member's bytes (plain
    // `gzip` stores the original name; tester helper-118 H1).
    if let Some(h) = gz.gz_header() {
        if let Some(f) = h.filename() {
            visit(Member::Name {
                name: &String::from_utf8_lossy(f),
            })?;
        }
        visit_text(HEADERS, &header_text(h), budget, visit)?;
    }
    let inner_name = gz
        .gz_header()
        .and_then(|h| h.filename())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .filter(|f| !f.is_empty() && !f.contains(['/', '!']))
        .unwrap_or_else(|| default_member_name(name));
    if kind(&head) == Some(Kind::Tar) {
        // The tar reader charges each entry; the guard watches the ratio.
        let stopped = Cell::new(None);
        let g = Guard::new(&mut gz, budget, consumed.clone(), false).reporting(&stopped);
        return tar_members(Cursor::new(head).chain(g), budget, visit, Some(&stopped));
    }
    let mut buf = head;
    let mut g = Guard::new(&mut gz, budget, consumed, true);
    let read = g.read_to_end(&mut buf);
    if let Some(s) = g.stop.take() {
        return Err(s);
    }
    read.map_err(|e| Stop::Corrupt(e.to_string()))?;
    budget.entry()?;
    visit(Member::File {
        name: &inner_name,
        data: &buf,
    })?;
    Ok(())
}

/// A compressed file's member name (a gzip's when its header has none): its own name without
/// `.gz`, `.xz`, `.bz2` or `.zst` (`.tgz`, `.txz`, `.tbz2` give `.tar`).
fn default_member_name(outer: &str) -> String {
    let base = outer.rsplit(['/', '!']).next().unwrap_or(outer);
    for short in [".tgz", ".txz", ".tbz2", ".tbz", ".tzst"] {
        if let Some(stem) = base.strip_suffix(short) {
            return format!("{stem}.tar");
        }
    }
    for ext in [".gz", ".xz", ".bz2", ".zst"] {
        if let Some(stem) = base.strip_suffix(ext).filter(|s| !s.is_empty()) {
            return stem.to_owned();
        }
    }
    "-".to_owned()
}

/// Counts the compressed bytes a decompressor has consumed.
struct Counted<'a> {
    inner: &'a [u8],
    count: Rc<Cell<u64>>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl std::io::BufRead for Counted<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(self.inner)
    }

    fn consume(&mut self, n: usize) {
        self.inner = &self.inner[n..];
        self.count.set(self.count.get() + n as u64);
    }
}

/// Watches the bytes coming out of a decompressor: the archive's byte budget and the ratio of
/// bytes out to compressed bytes in. When one trips, reading fails and `stop` says why.
struct Guard<'b, R> {
    inner: R,
    budget: &'b Budget,
    consumed: Rc<Cell<u64>>,
    out: u64,
    /// Whether the bytes read are charged to the budget here (a tar in a gzip is charged per
    /// entry by the tar reader instead).
    charge: bool,
    stop: Option<Stop>,
    report: Option<&'b Cell<Option<Stop>>>,
}

impl<'b, R: Read> Guard<'b, R> {
    fn new(inner: R, budget: &'b Budget, consumed: Rc<Cell<u64>>, charge: bool) -> Self {
        Guard {
            inner,
            budget,
            consumed,
            out: 0,
            charge,
            stop: None,
            report: None,
        }
    }

    /// Also records a stop in `cell`, for a reader (tar) that wraps the error it sees.
    fn reporting(mut self, cell: &'b Cell<Option<Stop>>) -> Self {
        self.report = Some(cell);
        self
    }
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let limits = self.budget.limits;
        let mut stop = if self.charge {
            self.budget.charge(n as u64).err()
        } else if self.out > limits.max_bytes {
            // Entries skipped unread still come out of the decompressor: bound that too.
            Some(Stop::Bytes(limits.max_bytes))
        } else {
            None
        };
        if stop.is_none()
            && self.out > RATIO_FLOOR
            && self.out > limits.max_ratio * self.consumed.get()
        {
            stop = Some(Stop::Ratio(limits.max_ratio));
        }
        if let Some(s) = stop {
            if let Some(cell) = self.report {
                cell.set(Some(s.clone()));
            }
            self.stop = Some(s);
            return Err(std::io::Error::other("archive limit reached"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_from_magic_bytes() {
        assert_eq!(kind(b"PK\x03\x04rest"), Some(Kind::Zip));
        assert_eq!(kind(&[0x1f, 0x8b, 0x08, 0]), Some(Kind::Gzip));
        let mut tar = vec![0u8; 1024];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(kind(&tar), Some(Kind::Tar));
        assert_eq!(kind(b"plain text"), None);
        assert_eq!(kind(b"\xFD7zXZ\x00\x00\x04"), Some(Kind::Xz));
        assert_eq!(kind(b"BZh91AY&SYrest"), Some(Kind::Bzip2));
        assert_eq!(kind(b"BZh9 not bzip2"), None);
        assert_eq!(kind(&[0x28, 0xB5, 0x2F, 0xFD, 0]), Some(Kind::Zstd));
    }

    /// bb-scan-s9 F1: xz, bzip2 and zstd streams are unpacked (a tar inside read as one), and
    /// a stream of zeros stops at its ratio.
    #[test]
    fn xz_bzip2_and_zstd_are_read() {
        let text = b"token = value\n".repeat(3);
        let xz = {
            let mut o = Vec::new();
            lzma_rs::xz_compress(&mut &text[..], &mut o).unwrap();
            o
        };
        let bz = {
            let mut o = Vec::new();
            let mut e = bzip2::read::BzEncoder::new(&text[..], bzip2::Compression::best());
            e.read_to_end(&mut o).unwrap();
            o
        };
        let zst = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for (data, name) in [(xz, "a.log.xz"), (bz, "a.log.bz2"), (zst, "a.log.zst")] {
            let k = kind(&data).unwrap();
            let budget = Budget::new(ArchiveLimits::default());
            let mut got = Vec::new();
            read(k, name, &data, &budget, &mut |m| {
                if let Member::File { name, data } = m {
                    got.push((name.to_owned(), data.to_vec()));
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(got, vec![("a.log".to_owned(), text.clone())], "{name}");
        }
        let zeros = vec![0u8; 64 << 20];
        let zst = ruzstd::encoding::compress_to_vec(
            &zeros[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let budget = Budget::new(ArchiveLimits::default());
        let r = read(Kind::Zstd, "z.zst", &zst, &budget, &mut |_| Ok(()));
        assert_eq!(r, Err(Stop::Ratio(100)));
    }

    /// bb-scan-s7 N3: a tar or a gzip stream behind other bytes is found where it starts; a
    /// `ustar` with a wrong checksum and a gzip signature with reserved flags are not.
    #[test]
    fn archives_inside_other_bytes_are_found() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(4);
        h.set_cksum();
        b.append_data(&mut h, "a.env", &b"x=1\n"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let data = [
            b"#!/bin/sh\nexit 0\n".as_slice(),
            &tar,
            &[0x1f, 0x8b, 0x08, 0x00],
        ]
        .concat();
        assert_eq!(
            embedded(&data),
            (vec![(17, Kind::Tar), (17 + tar.len(), Kind::Gzip)], false)
        );
        let mut broken = data.clone();
        broken[17 + 148] ^= 1;
        broken[17 + tar.len() + 3] = 0x20;
        assert_eq!(embedded(&broken), (vec![], false));
        assert_eq!(
            embedded(b"plain text about ustar and gzip"),
            (vec![], false)
        );
    }

    /// A gzip file of two members is read whole (a tar across both too), zeros after the last
    /// member are padding, and other bytes after it are scanned as `<after the end>` instead of
    /// failing the file as damaged (`gzip -d` ignores them; session 19).
    #[test]
    fn gzip_members_then_trailing_bytes() {
        let gz = |b: &[u8]| {
            let mut e = flate2::read::GzEncoder::new(b, flate2::Compression::fast());
            let mut o = Vec::new();
            e.read_to_end(&mut o).unwrap();
            o
        };
        let files = |data: &[u8]| {
            let budget = Budget::new(ArchiveLimits::default());
            let mut got = Vec::new();
            let r = read(Kind::Gzip, "a.log.gz", data, &budget, &mut |m| {
                if let Member::File { name, data } = m {
                    got.push((name.to_owned(), String::from_utf8_lossy(data).into_owned()));
                }
                Ok(())
            });
            (r, got)
        };
        let two = [gz(b"first=1\n"), gz(b"second=2\n")].concat();
        let (r, got) = files(&two);
        assert_eq!(r, Ok(()));
        assert_eq!(
            got,
            vec![("a.log".to_owned(), "first=1\nsecond=2\n".to_owned())]
        );
        let padded = [two.clone(), vec![0u8; 300]].concat();
        assert_eq!(files(&padded), (Ok(()), got.clone()));
        let tail = [two.clone(), b"\nleft=after\n".to_vec()].concat();
        let (r, got2) = files(&tail);
        assert_eq!(r, Ok(()));
        assert_eq!(
            got2,
            vec![
                ("a.log".to_owned(), "first=1\nsecond=2\n".to_owned()),
                (AFTER_END.to_owned(), "left=after\n".to_owned())
            ]
        );
        // Padding between members, and a later member's header fields (tester helper-122 #1,
        // #2): all read.
        let named = {
            let mut e = flate2::GzBuilder::new()
                .filename("later_name.txt")
                .comment("later comment")
                .read(&b"third=3\n"[..], flate2::Compression::fast());
            let mut o = Vec::new();
            e.read_to_end(&mut o).unwrap();
            o
        };
        let padded_member = [two.clone(), vec![0u8; 512], b"\n".to_vec(), named].concat();
        let budget = Budget::new(ArchiveLimits::default());
        let mut seen = Vec::new();
        let r = read(Kind::Gzip, "a.log.gz", &padded_member, &budget, &mut |m| {
            match m {
                Member::File { name, data } => {
                    seen.push(format!("{name}={}", String::from_utf8_lossy(data)))
                }
                Member::Name { name } => seen.push(format!("name {name}")),
                Member::Unsupported { name, .. } => seen.push(format!("unsupported {name}")),
            }
            Ok(())
        });
        assert_eq!(r, Ok(()));
        assert_eq!(
            seen,
            vec![
                "a.log=first=1\nsecond=2\nthird=3\n".to_owned(),
                "name later_name.txt".to_owned(),
                format!("{HEADERS}=later comment\n"),
            ]
        );
        // Bytes that look like a member and are not one (helper-122 #3): the members before
        // them are read, the bytes scanned, and the file still counts as damaged.
        let fake = [two.clone(), b"\x1f\x8bjunk left=after".to_vec()].concat();
        let (r, got3) = files(&fake);
        assert!(matches!(r, Err(Stop::Corrupt(_))), "{r:?}");
        assert_eq!(
            got3[0],
            ("a.log".to_owned(), "first=1\nsecond=2\n".to_owned())
        );
        assert_eq!(got3[1].0, AFTER_END);
        assert!(got3[1].1.contains("left=after"));
        // A tar split across two members is one tar.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(4);
        h.set_cksum();
        b.append_data(&mut h, "a.env", &b"x=1\n"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let split = [gz(&tar[..700]), gz(&tar[700..])].concat();
        let (r, got) = files(&split);
        assert_eq!(r, Ok(()));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["a.env", HEADERS], "{got:?}");
        assert_eq!(got[0].1, "x=1\n");
        // A damaged member is still damage.
        let mut broken = two.clone();
        let last = broken.len() - 12;
        broken[last] ^= 0xff;
        assert!(matches!(files(&broken).0, Err(Stop::Corrupt(_))));
    }

    #[test]
    fn gzip_members_are_named_after_the_file() {
        assert_eq!(default_member_name("logs/app.log.gz"), "app.log");
        assert_eq!(default_member_name("a.zip!layer.tgz"), "layer.tar");
        assert_eq!(default_member_name("blob"), "-");
        assert_eq!(default_member_name("app.log.xz"), "app.log");
        assert_eq!(default_member_name("layer.tzst"), "layer.tar");
    }
}
