//! Whether a run covered everything it was asked to. A security check fails closed: a report
//! with a [`Gap`] is never "clean", whatever its diagnostics; skip counts are reported either
//! way.

use std::fmt;

/// Why a run did not cover everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Gap {
    /// Inputs that could not be read.
    Unreadable,
    /// Inputs over a size limit.
    TooLarge,
    /// A depth, count or time limit stopped the run early (nested archives, decoding chains).
    Truncated,
    /// Inputs in a form the check cannot read (an unknown archive, an encrypted file).
    Unsupported,
    /// The run was stopped (a signal, a closed pipe).
    Interrupted,
    /// Inputs were expected but none was read (every file skipped, an empty tree).
    NothingScanned,
}

impl Gap {
    /// A stable id (SARIF notification descriptor).
    pub fn id(self) -> &'static str {
        match self {
            Gap::Unreadable => "unreadable",
            Gap::TooLarge => "too-large",
            Gap::Truncated => "truncated",
            Gap::Unsupported => "unsupported",
            Gap::Interrupted => "interrupted",
            Gap::NothingScanned => "nothing-scanned",
        }
    }
}

/// One reason a run is incomplete, with a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// What kind of gap.
    pub gap: Gap,
    /// How many inputs it concerns (files, objects, archives), at least 1.
    pub count: u64,
    /// What was missed, e.g. `3 files could not be read`.
    pub message: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a run passed over, counted: inputs it chose not to read, and findings an inline marker
/// (`gitleaks:allow`, `pragma: allowlist secret`) allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Binary inputs.
    pub binary: u64,
    /// Inputs over the size limit.
    pub too_large: u64,
    /// Inputs that could not be read.
    pub unreadable: u64,
    /// Inputs that ignore rules (`.gitignore`) kept out.
    pub ignored: u64,
    /// Findings that an inline allow marker on their line (or the line before) kept out.
    pub allowed_by_marker: u64,
    /// Symbolic links a directory walk did not follow.
    pub symlinks: u64,
    /// FIFOs, sockets and devices a directory walk met: never read (no content at rest, and
    /// reading one may block).
    pub special: u64,
}

impl Skipped {
    /// Whether nothing was skipped.
    pub fn is_empty(&self) -> bool {
        *self == Skipped::default()
    }

    /// `(name, count)` of each kind, in a fixed order.
    pub fn counts(&self) -> [(&'static str, u64); 7] {
        [
            ("binary", self.binary),
            ("too_large", self.too_large),
            ("unreadable", self.unreadable),
            ("ignored", self.ignored),
            ("allowed_by_marker", self.allowed_by_marker),
            ("symlinks_not_followed", self.symlinks),
            ("special_files", self.special),
        ]
    }
}

/// Whether a run was complete, and what it skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completeness {
    /// Why the run is incomplete; empty when it is complete.
    pub reasons: Vec<Reason>,
    /// What was passed over.
    pub skipped: Skipped,
}

impl Completeness {
    /// Whether the run covered everything.
    pub fn is_complete(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Records one more reason the run is incomplete, concerning one input.
    pub fn gap(&mut self, gap: Gap, message: impl Into<String>) {
        self.gap_count(gap, 1, message);
    }

    /// Records one more reason the run is incomplete, concerning `count` inputs.
    pub fn gap_count(&mut self, gap: Gap, count: u64, message: impl Into<String>) {
        self.reasons.push(Reason {
            gap,
            count: count.max(1),
            message: message.into(),
        });
    }
}
