//! The blobs a history scan wants, decoded once each through their packs' delta trees.
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
//! with the pack. Whatever cannot be decoded this way (loose objects, a base in another pack, a
//! header or a batch that fails) is left to the caller's one-by-one reading, which names what is
//! missing or unreadable.

use gix::odb::pack;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of pack entries decoded per batch (a family larger than this is one batch).
const BATCH: u64 = 16 << 20;

/// An entry whose base is not known yet.
const UNKNOWN: u32 = u32::MAX;
/// Bytes a family's full base times its deepest chain may hold (the most its traversal keeps
/// decoded at once); a larger family is read one object at a time.
const FAMILY_MEMORY: u64 = 64 << 20;

/// An entry that is no delta.
const ROOT: u32 = u32::MAX - 1;
/// An entry whose header or base could not be read: it and its deltas are left to the caller.
const BROKEN: u32 = u32::MAX - 2;

/// Decodes the blobs at `places` (per job: the pack's number in the order of
/// [`crate::pack_trees::index_files`] and the entry's offset, `u32::MAX` for an object no pack
/// holds) on `threads` threads, calling `visit(job, bytes)` once for each job it could decode;
/// returns, per job, whether it was visited.
pub(crate) fn decode(
    repo: &gix::Repository,
    places: &[(u32, u64)],
    threads: usize,
    visit: &(dyn Fn(usize, &[u8]) + Sync),
) -> Vec<bool> {
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
) -> Vec<bool> {
    let done: Vec<AtomicBool> = places.iter().map(|_| AtomicBool::new(false)).collect();
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
    done.into_iter().map(AtomicBool::into_inner).collect()
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
    done: &'a [AtomicBool],
}

impl Pack<'_> {
    /// Decodes the pack's wanted entries batch by batch.
    fn decode(&self) -> Result<(), &'static str> {
        let index =
            pack::index::File::at(self.index_path, self.hash).map_err(|_| "index unreadable")?;
        let pack_path = self.index_path.with_extension("pack");
        let file = std::fs::File::open(&pack_path).map_err(|_| "pack unreadable")?;
        let data_end = file
            .metadata()
            .map_err(|_| "pack unreadable")?
            .len()
            .checked_sub(self.hash.len_in_bytes() as u64)
            .ok_or("pack truncated")?;
        let mut offsets: Vec<u64> = (0..index.num_objects())
            .map(|i| index.pack_offset_at_index(i))
            .collect();
        offsets.sort_unstable();
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

        // Each needed entry's family (the place of its full base), BROKEN when a base is missing
        // or the chain does not end (a cycle of ref deltas); its depth below the full base, and
        // each family's greatest depth.
        let mut family = vec![UNKNOWN; offsets.len()];
        let mut depth = vec![0u32; offsets.len()];
        let mut deepest: std::collections::HashMap<u32, u32> = Default::default();
        let mut path = Vec::new();
        for k in 0..offsets.len() {
            if !needed[k] || family[k] != UNKNOWN {
                continue;
            }
            let mut at_k = k;
            let root = loop {
                if family[at_k] != UNKNOWN {
                    break family[at_k];
                }
                if path.len() > offsets.len() {
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
        // A family whose chain of decoded versions could outgrow the budget is left to the
        // one-by-one reading (gix's traversal holds each level of a chain while its deltas wait).
        let too_big = |root: u32| {
            let size = full_size.get(&root).copied().unwrap_or(u64::MAX);
            let levels = u64::from(deepest.get(&root).copied().unwrap_or(0)) + 1;
            size.saturating_mul(levels) > self.family_memory
        };
        let mut members: Vec<(u32, u32)> = (0..offsets.len())
            .filter(|&k| needed[k] && family[k] != BROKEN && !too_big(family[k]))
            .map(|k| (family[k], k as u32))
            .collect();
        members.sort_unstable();
        let size = |k: usize| offsets.get(k + 1).copied().unwrap_or(data_end) - offsets[k];

        // Batches of whole families, about BATCH bytes each.
        let mut batch: Vec<u32> = Vec::new();
        let mut bytes = 0u64;
        let mut i = 0;
        while i < members.len() {
            let root = members[i].0;
            while i < members.len() && members[i].0 == root {
                let k = members[i].1;
                bytes += size(k as usize);
                batch.push(k);
                i += 1;
            }
            if bytes >= self.batch || i == members.len() {
                // gix reads the tree's headers from the pack's first entry on: that entry (a
                // full object in a pack that is not thin) leads every batch.
                if batch.first() != Some(&0) {
                    batch.push(0);
                }
                batch.sort_unstable();
                batch.dedup();
                self.batch(&pack_path, &index, &offsets, data_end, &batch);
                batch.clear();
                bytes = 0;
            }
        }
        Ok(())
    }

    /// Decodes one batch (places in `offsets`, sorted) through a fresh map of the pack.
    fn batch(
        &self,
        pack_path: &Path,
        index: &pack::index::File,
        offsets: &[u64],
        data_end: u64,
        batch: &[u32],
    ) {
        let Ok(data) = pack::data::File::at(pack_path, self.hash) else {
            return;
        };
        let stop = AtomicBool::new(false);
        let offset_of =
            |id: &gix::hash::oid| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i)));
        let tree = match pack::cache::delta::Tree::from_offsets_in_pack(
            pack_path,
            batch.iter().copied(),
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
        let last = *batch.last().expect("a batch is never empty") as usize;
        let end = offsets.get(last + 1).copied().unwrap_or(data_end);
        let jobs = self.jobs;
        let visit = self.visit;
        let done = self.done;
        let inspect =
            |k: &mut u32, _: &dyn gix::Progress, cx: pack::cache::delta::traverse::Context<'_>| {
                let o = offsets[*k as usize];
                let from = jobs.partition_point(|j| j.0 < o);
                for &(_, job) in jobs[from..].iter().take_while(|j| j.0 == o) {
                    // The first entry may be decoded by every batch; each job is visited once.
                    if !done[job].swap(true, Ordering::Relaxed) {
                        visit(job, cx.decompressed);
                    }
                }
                Ok(())
            };
        let outcome = tree.traverse(
            |range, data: &pack::data::File| data.entry_slice(range),
            &data,
            end,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every blob of a pack with deep delta chains (and with families wider than one batch's
    /// worth of entries) decodes to the bytes git gives; a loose blob is left to the caller.
    #[test]
    fn blobs_decode_to_the_bytes_git_gives_and_loose_ones_are_left() {
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
        let check = |visited: &[bool], seen: &[Option<Vec<u8>>]| {
            for (job, id) in ids.iter().enumerate() {
                if *id == gix::ObjectId::from_hex(loose.trim().as_bytes()).unwrap() {
                    assert!(
                        !visited[job] && seen[job].is_none(),
                        "a loose blob is the caller's"
                    );
                    continue;
                }
                assert!(visited[job], "blob {id} not decoded");
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
        assert!(visited.iter().all(|v| !v));
    }
}
