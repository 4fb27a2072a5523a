//! Every tree of a repository's packs, decoded once, in pack order, held in memory up to a budget
//! and spilled to a temporary file past it: the fast way to read the trees of a whole history.
//!
//! Trees are stored as delta chains up to 50 deep, and gix's delta cache keeps only the objects a
//! caller asked for, not the bases it passed through. Read in history order, each tree then costs
//! its whole chain: on a 6,000-commit history that was 700,000 inflates for 48,000 trees. In pack
//! order a delta's base always comes before it, so with the deltas decoded kept in an offset-keyed
//! cache most trees cost one inflate and one delta application (a delta of a full tree inflates
//! that tree again: gix never looks full bases up in its cache).

use gix::odb::pack::cache::lru::MemoryCappedHashmap;
use gix::odb::pack::data::decode::entry::ResolvedBase;
use gix::odb::pack::data::entry::Header;
use gix::ObjectId;
use std::collections::HashMap;
use std::sync::Arc;

/// Where each of `ids` lies in the packs of `repo`: `(pack number, offset)` in the order of
/// the pack indexes' file names, `(u32::MAX, 0)` for loose objects and objects no pack holds.
/// Reading objects in this order reads each pack front to back.
pub(crate) fn locations(repo: &gix::Repository, ids: &[ObjectId]) -> Vec<(u32, u64)> {
    let mut out = vec![(u32::MAX, 0); ids.len()];
    let mut want: HashMap<ObjectId, Vec<usize>> = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        want.entry(*id).or_default().push(i);
    }
    for (n, path) in index_files(repo).into_iter().enumerate() {
        let Ok(index) = gix::odb::pack::index::File::at(&path, repo.object_hash()) else {
            continue;
        };
        for e in index.iter() {
            if let Some(is) = want.get(&e.oid) {
                for &i in is {
                    if out[i].0 == u32::MAX {
                        out[i] = (n as u32, e.pack_offset);
                    }
                }
            }
        }
    }
    out
}

/// Every entry of a pack as (offset, place in `index`), in pack order.
pub(crate) fn by_offset(index: &gix::odb::pack::index::File) -> Vec<(u64, u32)> {
    let mut entries: Vec<(u64, u32)> = (0..index.num_objects())
        .map(|i| (index.pack_offset_at_index(i), i))
        .collect();
    entries.sort_unstable();
    entries
}

/// The pack index files of `repo`, sorted by name, then those of its alternates (`objects/info/
/// alternates`, followed as git does, at most five levels): a `git clone --shared` or
/// `--reference` keeps its history there, and its packs are read the fast way too.
pub(crate) fn index_files(repo: &gix::Repository) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = Vec::new();
    let mut next = vec![(repo.objects.store_ref().path().to_owned(), 0)];
    while let Some((dir, depth)) = next.pop() {
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if dirs.contains(&key) {
            continue;
        }
        dirs.push(key);
        if depth >= 5 {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join("info/alternates")) else {
            continue;
        };
        // Later lines after earlier ones: pushed in reverse onto the stack.
        let found: Vec<_> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| (dir.join(l), depth + 1))
            .collect();
        next.extend(found.into_iter().rev());
    }
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(listing) = std::fs::read_dir(dir.join("pack")) else {
            continue;
        };
        let mut idx: Vec<_> = listing
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx.sort();
        out.extend(idx);
    }
    out
}

/// Each window of this many bytes of a pack is read through a fresh memory map: dropping the
/// previous one hands its pages back, so resident memory does not grow with the pack (packs
/// that forges write interleave trees and blobs, so every page is read once).
const WINDOW: u64 = 16 << 20;

/// Decoded trees by id: the first `held` bytes of them in memory, the rest in a spill file (an
/// unlinked temporary file, `0600`, read back with positioned reads), so the trees of a whole
/// history are decoded in one pass through the packs whatever their size, and the scan's
/// resident memory stays at the budget: spilled trees live in the page cache, which the kernel
/// reclaims, not in the process (uv: 178,817 trees, 64 MiB held; the rest were read one by
/// one through a map of the whole 230 MB pack, the peak of the scan's resident memory).
#[derive(Default)]
pub(crate) struct Trees {
    held: HashMap<ObjectId, Arc<[u8]>>,
    spilled: HashMap<ObjectId, (u64, u32)>,
    spill: Option<std::fs::File>,
}

impl Trees {
    /// No trees: every tree is read one by one.
    pub(crate) fn new() -> Self {
        Trees::default()
    }

    /// The tree `id` if it was decoded, and whether it came from the spill file (the caller
    /// keeps such a tree in its own cache). A spill file that cannot be read gives `None`, and
    /// the tree is read the ordinary way.
    pub(crate) fn get(&self, id: &ObjectId) -> Option<(Arc<[u8]>, bool)> {
        if let Some(t) = self.held.get(id) {
            return Some((t.clone(), false));
        }
        let &(offset, len) = self.spilled.get(id)?;
        let mut buf = vec![0u8; len as usize];
        read_at(self.spill.as_ref()?, &mut buf, offset).ok()?;
        Some((buf.into(), true))
    }

    /// How many trees are held and how many spilled.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.held.len(), self.spilled.len())
    }
}

/// Reads `buf.len()` bytes of `file` at `offset`, leaving the file's cursor alone (the spill file
/// is read by every tree-walking thread at once).
#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads `buf.len()` bytes of `file` at `offset` (Windows: `seek_read` may return fewer).
#[cfg(windows)]
fn read_at(file: &std::fs::File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Where decoded trees go: memory up to a budget, then the spill file.
struct Sink {
    trees: Trees,
    held_bytes: usize,
    budget: usize,
    writer: Option<std::io::BufWriter<std::fs::File>>,
    written: u64,
    spill_failed: bool,
}

/// At most this many bytes of trees are spilled (past it trees are read one by one): a history
/// whose trees outgrow it is read more slowly, never fills a disk.
const SPILL_BUDGET: u64 = 4 << 30;

impl Sink {
    /// Takes one decoded tree; false once neither memory nor the spill file has room.
    fn put(&mut self, id: ObjectId, data: &[u8]) -> bool {
        if self.held_bytes + data.len() <= self.budget {
            self.held_bytes += data.len();
            self.trees.held.insert(id, data.into());
            return true;
        }
        if self.spill_failed || self.written + data.len() as u64 > SPILL_BUDGET {
            return false;
        }
        if self.writer.is_none() {
            match tempfile::tempfile() {
                Ok(f) => self.writer = Some(std::io::BufWriter::with_capacity(1 << 20, f)),
                Err(e) => {
                    tracing::debug!(error = %e, "no spill file for trees");
                    self.spill_failed = true;
                    return false;
                }
            }
        }
        let w = self.writer.as_mut().expect("opened above");
        if let Err(e) = std::io::Write::write_all(w, data) {
            tracing::debug!(error = %e, "tree spill file not written");
            self.spill_failed = true;
            return false;
        }
        self.trees
            .spilled
            .insert(id, (self.written, data.len() as u32));
        self.written += data.len() as u64;
        true
    }

    /// The trees; spilled ones are dropped if the spill file could not be completed.
    fn finish(mut self) -> Trees {
        if let Some(w) = self.writer.take() {
            match w.into_inner() {
                Ok(f) if !self.spill_failed => self.trees.spill = Some(f),
                _ => self.trees.spilled.clear(),
            }
        }
        self.trees
    }
}

/// Decodes the trees of every pack of `repo`: `budget` bytes of them are held in memory, the
/// rest spilled (see [`Trees`]). Trees past the spill budget, in loose objects or in alternates
/// are read the ordinary way later. A pack that cannot be opened or an entry that cannot be
/// decoded is skipped, never fatal. Setting `stop` ends the decoding (what was decoded is
/// returned).
pub(crate) fn load(
    repo: &gix::Repository,
    budget: usize,
    stop: &std::sync::atomic::AtomicBool,
) -> Trees {
    let mut sink = Sink {
        trees: Trees::new(),
        held_bytes: 0,
        budget,
        writer: None,
        written: 0,
        spill_failed: false,
    };
    for path in index_files(repo) {
        let hash = repo.object_hash();
        let index = match gix::odb::pack::index::File::at(&path, hash) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(pack = %path.display(), error = %e, "pack not preloaded");
                continue;
            }
        };
        let pack = path.with_extension("pack");
        if !one_pack(&index, &pack, hash, &mut sink, stop) {
            break;
        }
    }
    let (held_bytes, spilled_bytes) = (sink.held_bytes, sink.written);
    let trees = sink.finish();
    let (held, spilled) = trees.counts();
    tracing::debug!(
        held,
        held_bytes,
        spilled,
        spilled_bytes,
        "trees decoded in pack order"
    );
    trees
}

/// Decodes one pack's trees; false once there is no room for more.
fn one_pack(
    index: &gix::odb::pack::index::File,
    pack_path: &std::path::Path,
    hash: gix::hash::Kind,
    sink: &mut Sink,
    stop: &std::sync::atomic::AtomicBool,
) -> bool {
    let open = || gix::odb::pack::data::File::at(pack_path, hash).ok();
    let Some(mut pack) = open() else {
        return true;
    };
    let mut window = 0u64;
    // Offsets and places in the index, in pack order: ids are read from, and looked up in, the
    // index itself (a binary search), so a pack of a million objects costs 16 MB here, not maps
    // of every id (200,000 commits: the maps were 70 MB at the scan's peak).
    let entries = by_offset(index);
    let offset_of = |id: &gix::hash::oid| index.lookup(id).map(|i| index.pack_offset_at_index(i));
    // Whether the object at each entry (by its place in `entries`) is a tree: a delta is of its
    // base's kind.
    let mut is_tree = vec![false; entries.len()];
    let at = |offset: u64| entries.binary_search_by_key(&offset, |e| e.0).ok();
    let mut cache = MemoryCappedHashmap::new(32 << 20);
    let mut inflate = gix::zlib::Inflate::default();
    let mut out = Vec::new();
    for (n, &(offset, place)) in entries.iter().enumerate() {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        if offset - window > WINDOW {
            match open() {
                Some(p) => pack = p,
                None => return true,
            }
            window = offset;
        }
        let pack = &pack;
        let resolve = |id: &gix::hash::oid, _: &mut Vec<u8>| {
            Ok(offset_of(id)
                .and_then(|o| pack.entry(o).ok())
                .map(ResolvedBase::InPack))
        };
        let Ok(entry) = pack.entry(offset) else {
            continue;
        };
        let tree = match &entry.header {
            Header::Tree => true,
            Header::OfsDelta { base_distance } => entry
                .checked_base_pack_offset(*base_distance)
                .and_then(at)
                .is_some_and(|b| is_tree[b]),
            Header::RefDelta { base_id } => {
                offset_of(base_id).and_then(at).is_some_and(|b| is_tree[b])
            }
            _ => false,
        };
        is_tree[n] = tree;
        if !tree {
            continue;
        }
        // gix's delta cache keeps the deltas it resolved, keyed by their offsets; it never looks
        // a chain's full base up (`resolve_deltas` stops at the first non-delta), so a delta of a
        // full tree inflates that tree again.
        let decoded = pack.decode_entry(entry, &mut out, &mut inflate, &resolve, &mut cache);
        if decoded.is_err() {
            is_tree[n] = false;
            continue;
        }
        let id = index.oid_at_index(place).to_owned();
        // Only a tree that hashes to its id is kept (the scan reads any other one again, and
        // counts it corrupt).
        if !crate::git::object_hash_is(gix::objs::Kind::Tree, id, &out) {
            continue;
        }
        if !sink.put(id, &out) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack_blobs::tests::git_bytes as git;
    use std::sync::atomic::AtomicBool;

    /// Every tree of a packed history of nested folders, as git gives its bytes.
    fn packed_trees() -> (tempfile::TempDir, Vec<(ObjectId, Vec<u8>)>) {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        for i in 0..40 {
            let sub = d.join(format!("a/b{}/c", i % 5));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("f{}.txt", i % 7)), format!("{i}\n")).unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-qm", &format!("c{i}")]);
        }
        git(d, &["repack", "-adfq", "--depth=50", "--window=20"]);
        let listing = git(d, &["cat-file", "--batch-all-objects", "--batch-check"]);
        let trees: Vec<(ObjectId, Vec<u8>)> = String::from_utf8(listing)
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').nth(1) == Some("tree"))
            .map(|l| {
                let id = l.split(' ').next().unwrap();
                (
                    ObjectId::from_hex(id.as_bytes()).unwrap(),
                    git(d, &["cat-file", "tree", id]),
                )
            })
            .collect();
        assert!(trees.len() > 100, "{} trees", trees.len());
        (dir, trees)
    }

    #[test]
    fn trees_past_the_memory_budget_are_spilled_and_read_back_exactly() {
        let (dir, want) = packed_trees();
        let repo = gix::open(dir.path()).unwrap();
        let go = AtomicBool::new(false);
        let total: usize = want.iter().map(|t| t.1.len()).sum();
        // All in memory, about half, none.
        for (budget, spilled) in [(usize::MAX, false), (total / 2, true), (0, true)] {
            let trees = load(&repo, budget, &go);
            let (held, spill) = trees.counts();
            assert_eq!(held + spill, want.len(), "budget {budget}");
            assert_eq!(spill > 0, spilled, "budget {budget}");
            if budget == 0 {
                assert_eq!(held, 0);
            }
            for (id, bytes) in &want {
                let (got, from_spill) = trees.get(id).expect("every tree decoded");
                assert_eq!(&got[..], &bytes[..], "tree {id}, budget {budget}");
                assert!(from_spill || budget > 0);
            }
        }
        // Stopped before it starts: nothing.
        let trees = load(&repo, usize::MAX, &AtomicBool::new(true));
        assert_eq!(trees.counts(), (0, 0));
    }
}
