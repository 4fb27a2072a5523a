//! The blobs a history scan wants, decoded once each through their packs' delta trees, every
//! entry used checked against the pack index's checksum first.
//!
//! gix's object lookup resolves one delta chain per object and its delta cache keeps only the
//! objects asked for, never a chain's full base: on astral-sh/uv's history 22,700 blobs are
//! deltas of a full base, which was inflated again for each of them (1.5 GB), and a chain whose
//! cached link was evicted was applied again from its base (inflating took 35% of the scan).
//! Here the headers of the wanted entries and of their bases are read, the delta families that
//! hold a wanted blob are cut into batches of about [`BATCH`] bytes of pack, and each batch is
//! decoded by gix's delta-tree traversal (`cache::delta::Tree`): every entry is inflated once and
//! every delta applied once, to its base's bytes, on every worker thread. Each batch maps the
//! pack afresh, so the pages it read are handed back with it and resident memory does not grow
//! with the pack.
//!
//! Inflating stops at the size an entry's header declares, so neither a damaged size nor a
//! damaged byte that still inflates would be noticed there (zlib's own checksum sits after the
//! data and is never reached). Every entry a batch uses is therefore first checked against the
//! CRC-32 the pack index (version 2) keeps of its stored bytes: an entry that fails, and every
//! delta built on it, is [`Read::Corrupt`], never scanned. Whatever cannot be decoded here (loose
//! objects, a base in another pack, a family too large to hold decoded, a header or a batch that
//! fails, a version 1 index) is [`Read::Left`] to the caller's one-by-one reading, which names
//! what is missing or unreadable.

use gix::odb::pack;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Bytes of pack entries decoded per batch (a family larger than this is one batch). Small,
/// because a batch's map of the pack stays resident while it lives and this kernel (6.18) maps
/// a whole large folio of the page cache on a fault: touching one byte per MiB of a cached pack
/// (read by `cat`) maps 217 MB of it. 8 MiB batches peaked uv's scan at 389 MB, 2 MiB at 356.
const BATCH: u64 = 2 << 20;

/// Bytes a family's full base times its deepest chain may hold (the most its traversal keeps
/// decoded at once); a larger family is read one object at a time.
const FAMILY_MEMORY: u64 = 32 << 20;

/// An entry whose base is not known yet.
const UNKNOWN: u32 = u32::MAX;
/// An entry that is no delta.
const ROOT: u32 = u32::MAX - 1;
/// An entry whose header or base could not be read: it and its deltas are left to the caller.
const BROKEN: u32 = u32::MAX - 2;

/// What became of one job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Not decoded here: the caller reads it.
    Left = 0,
    /// Decoded and visited.
    Decoded = 1,
    /// Its entry, or an entry its delta chain is built on, fails the index's checksum.
    Corrupt = 2,
}

/// Decodes the blobs at `places` (per job: the pack's number in the order of
/// [`crate::pack_trees::index_files`] and the entry's offset, `u32::MAX` for an object no pack
/// holds) on `threads` threads, calling `visit(job, bytes)` once for each job it could decode;
/// returns what became of each job.
pub(crate) fn decode(
    repo: &gix::Repository,
    places: &[(u32, u64)],
    threads: usize,
    visit: &(dyn Fn(usize, &[u8]) + Sync),
) -> Vec<Read> {
    decode_in_batches(repo, places, threads, (BATCH, FAMILY_MEMORY), visit)
}

/// [`decode`] with batches of `limits.0` bytes of pack and families of at most `limits.1` bytes
/// decoded at once.
fn decode_in_batches(
    repo: &gix::Repository,
    places: &[(u32, u64)],
    threads: usize,
    (batch, family_memory): (u64, u64),
    visit: &(dyn Fn(usize, &[u8]) + Sync),
) -> Vec<Read> {
    let done: Vec<AtomicU8> = places
        .iter()
        .map(|_| AtomicU8::new(Read::Left as u8))
        .collect();
    let mut by_pack: std::collections::BTreeMap<u32, Vec<(u64, usize)>> = Default::default();
    for (job, &(n, offset)) in places.iter().enumerate() {
        if n != u32::MAX {
            by_pack.entry(n).or_default().push((offset, job));
        }
    }
    let files = crate::pack_trees::index_files(repo);
    for (n, mut jobs) in by_pack {
        let Some(index_path) = files.get(n as usize) else {
            continue;
        };
        jobs.sort_unstable();
        let pack = Pack {
            index_path,
            hash: repo.object_hash(),
            jobs: &jobs,
            threads,
            batch,
            family_memory,
            visit,
            done: &done,
        };
        if let Err(why) = pack.decode() {
            tracing::debug!(pack = %index_path.display(), why, "pack not decoded by delta trees");
        }
    }
    done.into_iter()
        .map(|d| match d.into_inner() {
            1 => Read::Decoded,
            2 => Read::Corrupt,
            _ => Read::Left,
        })
        .collect()
}

/// One pack's share of the work.
struct Pack<'a> {
    index_path: &'a Path,
    hash: gix::hash::Kind,
    /// (offset, job), sorted.
    jobs: &'a [(u64, usize)],
    threads: usize,
    /// Bytes of pack entries per batch.
    batch: u64,
    /// Bytes a family may hold decoded at once ([`FAMILY_MEMORY`]).
    family_memory: u64,
    visit: &'a (dyn Fn(usize, &[u8]) + Sync),
    /// Per job, a [`Read`].
    done: &'a [AtomicU8],
}

/// A pack's entries in offset order, and what was learned of them.
struct Entries {
    /// Offsets, ascending.
    offsets: Vec<u64>,
    /// Each entry's place in the index (for its checksum).
    places: Vec<u32>,
    /// Where the last entry ends (the pack's trailer starts).
    data_end: u64,
    /// Each entry's base (a place in `offsets`), [`ROOT`], [`BROKEN`] or [`UNKNOWN`].
    base: Vec<u32>,
}

impl Entries {
    /// Where entry `k` ends.
    fn end(&self, k: usize) -> u64 {
        self.offsets.get(k + 1).copied().unwrap_or(self.data_end)
    }
}

impl Pack<'_> {
    /// Jobs at the entry at `offset`.
    fn jobs_at(&self, offset: u64) -> impl Iterator<Item = usize> + '_ {
        let from = self.jobs.partition_point(|j| j.0 < offset);
        self.jobs[from..]
            .iter()
            .take_while(move |j| j.0 == offset)
            .map(|j| j.1)
    }

    /// Decodes the pack's wanted entries batch by batch.
    fn decode(&self) -> Result<(), &'static str> {
        let index =
            pack::index::File::at(self.index_path, self.hash).map_err(|_| "index unreadable")?;
        if index.version() == pack::index::Version::V1 {
            return Err("a version 1 index keeps no checksums");
        }
        let pack_path = self.index_path.with_extension("pack");
        let file = std::fs::File::open(&pack_path).map_err(|_| "pack unreadable")?;
        let data_end = file
            .metadata()
            .map_err(|_| "pack unreadable")?
            .len()
            .checked_sub(self.hash.len_in_bytes() as u64)
            .ok_or("pack truncated")?;
        let (offsets, places): (Vec<u64>, Vec<u32>) =
            crate::pack_trees::by_offset(&index).into_iter().unzip();
        let at = |o: u64| offsets.binary_search(&o).ok();
        let offset_of =
            |id: &gix::hash::oid| index.lookup(id).map(|i| index.pack_offset_at_index(i));

        // Each wanted entry and its bases, by their place in `offsets`; the size of each full
        // object met.
        let mut full_size: std::collections::HashMap<u32, u64> = Default::default();
        let mut base_of = |k: usize| -> u32 {
            let mut buf = [0u8; 64];
            let Ok(n) = file.read_at(&mut buf, offsets[k]) else {
                return BROKEN;
            };
            let Ok(entry) = pack::data::Entry::from_bytes(&buf[..n], offsets[k], self.hash) else {
                return BROKEN;
            };
            let base = match entry.header {
                pack::data::entry::Header::OfsDelta { base_distance } => {
                    entry.checked_base_pack_offset(base_distance)
                }
                pack::data::entry::Header::RefDelta { base_id } => offset_of(&base_id),
                _ => {
                    full_size.insert(k as u32, entry.decompressed_size);
                    return ROOT;
                }
            };
            base.and_then(at).map_or(BROKEN, |b| b as u32)
        };
        let mut base = vec![UNKNOWN; offsets.len()];
        let mut needed = vec![false; offsets.len()];
        for &(o, _) in self.jobs {
            let Some(mut k) = at(o) else {
                continue;
            };
            while !needed[k] {
                needed[k] = true;
                if base[k] == UNKNOWN {
                    base[k] = base_of(k);
                }
                match base[k] {
                    ROOT | BROKEN => break,
                    b => k = b as usize,
                }
            }
        }
        // The pack's first entry leads every batch (see `batch`).
        if !offsets.is_empty() && base[0] == UNKNOWN {
            base[0] = base_of(0);
        }

        let (family, deepest) = families(&base, &needed);
        // A family whose chain of decoded versions could outgrow the budget is only checked
        // here and read one object at a time (gix's traversal holds each level of a chain while
        // its deltas wait).
        let too_big = |root: u32| {
            let size = full_size.get(&root).copied().unwrap_or(u64::MAX);
            let levels = u64::from(deepest.get(&root).copied().unwrap_or(0)) + 1;
            size.saturating_mul(levels) > self.family_memory
        };
        let mut members: Vec<(u32, u32)> = (0..offsets.len())
            .filter(|&k| needed[k] && family[k] != BROKEN)
            .map(|k| (family[k], k as u32))
            .collect();
        members.sort_unstable();
        drop(needed);
        let entries = Entries {
            offsets,
            places,
            data_end,
            base,
        };

        // Batches of whole families, about `self.batch` bytes each.
        let mut batch: Vec<(u32, bool)> = Vec::new();
        let mut bytes = 0u64;
        let mut i = 0;
        while i < members.len() {
            let root = members[i].0;
            let big = too_big(root);
            while i < members.len() && members[i].0 == root {
                let k = members[i].1;
                bytes += entries.end(k as usize) - entries.offsets[k as usize];
                batch.push((k, big));
                i += 1;
            }
            if bytes >= self.batch || i == members.len() {
                batch.sort_unstable();
                self.batch(&pack_path, &index, &entries, &batch);
                batch.clear();
                bytes = 0;
            }
        }
        Ok(())
    }

    /// Checks one batch's entries (places in `offsets` with whether their family is too big to
    /// decode here, sorted) against the index, then decodes the sound ones through a fresh map of
    /// the pack.
    fn batch(
        &self,
        pack_path: &Path,
        index: &pack::index::File,
        entries: &Entries,
        batch: &[(u32, bool)],
    ) {
        let Ok(data) = pack::data::File::at(pack_path, self.hash) else {
            return;
        };
        let offsets = &entries.offsets;
        let sound = |k: usize| {
            let stored = data.entry_slice(offsets[k]..entries.end(k));
            let want = index.crc32_at_index(entries.places[k]);
            matches!((stored, want), (Some(b), Some(w)) if crc32fast::hash(b) == w)
        };
        // Whether each member, or an entry its chain is built on, fails its checksum (a chain's
        // entries are all in the batch: a family is never split).
        let place = |k: u32| batch.binary_search_by_key(&k, |m| m.0).ok();
        let mut bad: Vec<Option<bool>> = batch
            .iter()
            .map(|&(k, _)| (!sound(k as usize)).then_some(true))
            .collect();
        let mut path = Vec::new();
        for start in 0..batch.len() {
            let mut at = start;
            let verdict = loop {
                if let Some(v) = bad[at] {
                    break v;
                }
                if path.len() > batch.len() {
                    break true;
                }
                path.push(at);
                match entries.base[batch[at].0 as usize] {
                    ROOT => break false,
                    b => match place(b) {
                        Some(p) => at = p,
                        None => break true,
                    },
                }
            };
            for p in path.drain(..) {
                bad[p] = Some(verdict);
            }
        }
        let mut tree_members: Vec<u32> = Vec::with_capacity(batch.len() + 1);
        for (m, &(k, big)) in batch.iter().enumerate() {
            if bad[m] == Some(true) {
                for job in self.jobs_at(offsets[k as usize]) {
                    let _ = self.done[job].compare_exchange(
                        Read::Left as u8,
                        Read::Corrupt as u8,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
            } else if !big {
                tree_members.push(k);
            }
        }
        if tree_members.is_empty() {
            return;
        }
        // gix reads the tree's headers from the pack's first entry on: that entry (a full object
        // in a pack that is not thin) leads every batch, and only when it is sound.
        if tree_members[0] != 0 {
            if entries.base[0] != ROOT || !sound(0) {
                return;
            }
            tree_members.insert(0, 0);
        }
        let stop = AtomicBool::new(false);
        let offset_of =
            |id: &gix::hash::oid| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i)));
        let tree = match pack::cache::delta::Tree::from_offsets_in_pack(
            pack_path,
            tree_members.iter().copied(),
            &|k: &u32| offsets[*k as usize],
            &offset_of,
            &mut gix::progress::Discard,
            &stop,
            self.hash,
        ) {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(error = %e, "delta tree not built");
                return;
            }
        };
        let last = *tree_members.last().expect("not empty") as usize;
        let visit = self.visit;
        let done = self.done;
        let inspect =
            |k: &mut u32, _: &dyn gix::Progress, cx: pack::cache::delta::traverse::Context<'_>| {
                for job in self.jobs_at(offsets[*k as usize]) {
                    // The first entry may be decoded by every batch; each job is visited once.
                    if done[job]
                        .compare_exchange(
                            Read::Left as u8,
                            Read::Decoded as u8,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        visit(job, cx.decompressed);
                    }
                }
                Ok(())
            };
        let outcome = tree.traverse(
            |range, data: &pack::data::File| data.entry_slice(range),
            &data,
            entries.end(last),
            inspect,
            pack::cache::delta::traverse::Options {
                object_progress: Box::new(gix::progress::Discard),
                size_progress: &mut gix::progress::Discard,
                thread_limit: Some(self.threads.max(1)),
                should_interrupt: &stop,
                object_hash: self.hash,
                alloc_limit_bytes: None,
            },
        );
        if let Err(e) = outcome {
            tracing::debug!(error = %e, "delta tree traversal stopped");
        }
    }
}

/// Each needed entry's family (the place of its full base in `base`'s order; [`BROKEN`] when a
/// base is missing or the chain does not end, as a cycle of ref deltas), and each family's
/// greatest depth below its full base.
fn families(base: &[u32], needed: &[bool]) -> (Vec<u32>, std::collections::HashMap<u32, u32>) {
    let mut family = vec![UNKNOWN; base.len()];
    let mut depth = vec![0u32; base.len()];
    let mut deepest: std::collections::HashMap<u32, u32> = Default::default();
    let mut path = Vec::new();
    for k in 0..base.len() {
        if !needed[k] || family[k] != UNKNOWN {
            continue;
        }
        let mut at_k = k;
        let root = loop {
            if family[at_k] != UNKNOWN {
                break family[at_k];
            }
            if path.len() > base.len() {
                break BROKEN;
            }
            path.push(at_k);
            match base[at_k] {
                ROOT => break at_k as u32,
                BROKEN | UNKNOWN => break BROKEN,
                b => at_k = b as usize,
            }
        };
        // The depth of the first entry above the path (the full base counts as depth 0).
        let mut d = match path.last() {
            Some(&top) if top as u32 == root => 0,
            _ if family[at_k] == root => depth[at_k] + 1,
            _ => 0,
        };
        for &p in path.iter().rev() {
            family[p] = root;
            depth[p] = d;
            d += 1;
        }
        if root != BROKEN {
            let max = deepest.entry(root).or_default();
            *max = (*max).max(d.saturating_sub(1));
        }
        path.clear();
    }
    (family, deepest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` (as a fixed author), asserting it succeeds; its raw output.
    pub(crate) fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        out.stdout
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        String::from_utf8(git_bytes(dir, args)).unwrap()
    }

    /// A repository of three files changed a line per commit over 120 commits, repacked so that
    /// their versions form delta chains.
    fn chained_repo() -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        let mut lines: Vec<String> = (0..200).map(|n| format!("line {n}\n")).collect();
        for i in 0..120 {
            // Three files, one line of each changed per commit: versions become chains of
            // deltas of each other.
            lines[i * 37 % 200] = format!("line changed in commit {i}\n");
            for f in 0..3 {
                std::fs::write(
                    d.join(format!("f{f}.txt")),
                    format!("{f}\n{}", lines.concat()),
                )
                .unwrap();
            }
            git(d, &["add", "-A"]);
            git(d, &["commit", "-qm", &format!("c{i}")]);
        }
        git(d, &["repack", "-adfq", "--depth=50", "--window=20"]);
        dir
    }

    /// The pack's index file.
    fn index_of(d: &Path) -> std::path::PathBuf {
        std::fs::read_dir(d.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap()
    }

    /// tester helper-113 (session 16) #1, #2, #4: a flipped byte in a delta's stored data, or in
    /// a full blob's size, still inflates (inflating stops at the declared size); the index's
    /// checksum catches both, and every blob built on the damaged entry is corrupt too.
    #[test]
    fn a_damaged_entry_and_what_is_built_on_it_are_corrupt_never_decoded() {
        let dir = chained_repo();
        let d = dir.path();
        let idx = index_of(d);
        let listing = git(d, &["verify-pack", "-v", idx.to_str().unwrap()]);
        // "<id> blob <size> <size in pack> <offset> [<depth> <base>]"
        let blobs: Vec<Vec<&str>> = listing
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|c| c.len() >= 5 && c[1] == "blob")
            .collect();
        let ids: Vec<gix::ObjectId> = blobs
            .iter()
            .map(|c| gix::ObjectId::from_hex(c[0].as_bytes()).unwrap())
            .collect();
        let bytes_of = |id: &str| {
            Command::new("git")
                .current_dir(d)
                .args(["cat-file", "blob", id])
                .output()
                .unwrap()
                .stdout
        };
        let before: Vec<Vec<u8>> = blobs.iter().map(|c| bytes_of(c[0])).collect();
        // Whether blob `i` is `target` or built on it.
        let base_of = |i: usize| {
            blobs[i]
                .get(6)
                .map(|b| blobs.iter().position(|c| c[0] == *b).unwrap())
        };
        let built_on = |mut i: usize, target: usize| loop {
            if i == target {
                return true;
            }
            match base_of(i) {
                Some(b) => i = b,
                None => return false,
            }
        };
        // A delta that others are built on, and a full blob that deltas are built on.
        let has_children = |i: usize| (0..blobs.len()).any(|j| base_of(j) == Some(i));
        let delta = (0..blobs.len())
            .find(|&i| blobs[i].len() > 5 && has_children(i))
            .expect("a delta with deltas of its own");
        let full = (0..blobs.len())
            .find(|&i| {
                blobs[i].len() == 5 && has_children(i) && blobs[i][2].parse::<u64>().unwrap() >= 16
            })
            .expect("a full base");
        let pack = idx.with_extension("pack");
        let clean = std::fs::read(&pack).unwrap();
        for (target, at) in [
            // The middle of the delta's stored data.
            (delta, {
                let (size, offset): (u64, u64) = (
                    blobs[delta][3].parse().unwrap(),
                    blobs[delta][4].parse().unwrap(),
                );
                offset + size / 2
            }),
            // The second byte of the full blob's header: its size.
            (full, blobs[full][4].parse::<u64>().unwrap() + 1),
        ] {
            let mut damaged = clean.clone();
            damaged[at as usize] ^= 0x01;
            std::fs::write(&pack, &damaged).unwrap();
            let repo = gix::open(d).unwrap();
            let places = crate::pack_trees::locations(&repo, &ids);
            let seen: std::sync::Mutex<Vec<Option<Vec<u8>>>> =
                std::sync::Mutex::new(vec![None; ids.len()]);
            let read = decode(&repo, &places, 2, &|job, bytes| {
                seen.lock().unwrap()[job] = Some(bytes.to_vec());
            });
            let seen = seen.into_inner().unwrap();
            assert_eq!(read[target], Read::Corrupt);
            for i in 0..blobs.len() {
                if built_on(i, target) {
                    assert_eq!(
                        read[i],
                        Read::Corrupt,
                        "blob {} is built on the damage",
                        blobs[i][0]
                    );
                    assert!(seen[i].is_none());
                } else {
                    assert_eq!(read[i], Read::Decoded, "blob {}", blobs[i][0]);
                    assert_eq!(seen[i].as_deref(), Some(before[i].as_slice()));
                }
            }
        }
        std::fs::write(&pack, &clean).unwrap();
    }

    /// Every blob of a pack with deep delta chains (and with families wider than one batch's
    /// worth of entries) decodes to the bytes git gives; a loose blob is left to the caller.
    #[test]
    fn blobs_decode_to_the_bytes_git_gives_and_loose_ones_are_left() {
        let dir = chained_repo();
        let d = dir.path();
        std::fs::write(d.join("loose.txt"), "only loose\n").unwrap();
        git(d, &["add", "loose.txt"]);
        git(d, &["commit", "-qm", "loose"]);
        let listing = git(
            d,
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname) %(objecttype)",
            ],
        );
        let ids: Vec<gix::ObjectId> = listing
            .lines()
            .filter(|l| l.ends_with(" blob"))
            .map(|l| gix::ObjectId::from_hex(&l.as_bytes()[..40]).unwrap())
            .collect();
        let loose = git(d, &["rev-parse", "HEAD:loose.txt"]);
        let repo = gix::open(d).unwrap();
        let places = crate::pack_trees::locations(&repo, &ids);
        let deltas = git(
            d,
            &["verify-pack", "-v", &{
                let pack_dir = d.join(".git/objects/pack");
                std::fs::read_dir(&pack_dir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.extension().is_some_and(|x| x == "idx"))
                    .unwrap()
                    .display()
                    .to_string()
            }],
        );
        // The pack really holds chains of deltas.
        assert!(
            deltas.lines().any(|l| l.starts_with("chain length = 9")),
            "{deltas}"
        );
        let check = |visited: &[Read], seen: &[Option<Vec<u8>>]| {
            for (job, id) in ids.iter().enumerate() {
                if *id == gix::ObjectId::from_hex(loose.trim().as_bytes()).unwrap() {
                    assert!(
                        visited[job] == Read::Left && seen[job].is_none(),
                        "a loose blob is the caller's"
                    );
                    continue;
                }
                assert_eq!(visited[job], Read::Decoded, "blob {id} not decoded");
                let want = Command::new("git")
                    .current_dir(d)
                    .args(["cat-file", "blob", &id.to_string()])
                    .output()
                    .unwrap()
                    .stdout;
                assert_eq!(seen[job].as_deref(), Some(want.as_slice()), "blob {id}");
            }
        };
        // One batch, and a batch per family (each led by the pack's first entry).
        for batch in [BATCH, 1] {
            let batch = (batch, FAMILY_MEMORY);
            let seen: std::sync::Mutex<Vec<Option<Vec<u8>>>> =
                std::sync::Mutex::new(vec![None; ids.len()]);
            let visited = decode_in_batches(&repo, &places, 2, batch, &|job, bytes| {
                let mut s = seen.lock().unwrap();
                assert!(s[job].is_none(), "job {job} visited twice");
                s[job] = Some(bytes.to_vec());
            });
            check(&visited, &seen.into_inner().unwrap());
        }
        // Families over the memory budget are all left to the caller.
        let visited = decode_in_batches(&repo, &places, 2, (BATCH, 1), &|_, _| {});
        assert!(visited.iter().all(|v| *v == Read::Left));
    }
}
