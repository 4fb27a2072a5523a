//! `vigil env status`: each secret's age against its schedule, from the ledger. A secret whose
//! value in some environment no longer matches that environment's hash in the ledger was changed
//! outside Vigil: it is flagged `changed`, and still ages from its last recorded rotation (an
//! overdue secret stays overdue until Vigil rotates it). An environment the ledger has no hash
//! for (a rotation limited with `--environment`) is not `changed`. One the ledger has never seen
//! is untracked. A rotation time that is not a time, or lies in the future, is an error naming
//! the ledger's line: it would otherwise make an old secret look fresh.

use crate::ledger::Ledger;
use crate::rotate::Loaded;
use crate::schedule::Schedules;
use serde::Serialize;
use std::collections::BTreeMap;

/// Days before the due date that count as "due soon".
pub const SOON_DAYS: i64 = 7;

/// Where a secret stands against its schedule (serialized as its snake-case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Past its due date.
    Overdue,
    /// Due within [`SOON_DAYS`].
    DueSoon,
    /// Rotated within its schedule.
    Ok,
    /// Never rotated by Vigil.
    Untracked,
    /// Rotated by Vigil, but no schedule applies.
    Unscheduled,
}

impl State {
    /// The stable name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Overdue => "overdue",
            State::DueSoon => "due_soon",
            State::Ok => "ok",
            State::Untracked => "untracked",
            State::Unscheduled => "unscheduled",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One secret's status.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Row {
    /// Variable.
    pub name: String,
    /// Where it stands.
    pub state: State,
    /// The value differs from what Vigil set last (in at least one environment).
    pub changed: bool,
    /// The schedule as written (`monthly`, `45 days`).
    pub schedule: Option<String>,
    /// Last rotation (RFC 3339).
    pub rotated_at: Option<String>,
    /// Days since the last rotation.
    pub age_days: Option<i64>,
    /// Days until due, rounded (negative: overdue by that many).
    pub due_in_days: Option<i64>,
    /// Non-template files holding it.
    pub files: Vec<String>,
    /// Environments holding a value Vigil never set (their age is unknown, so the secret is
    /// `untracked` until Vigil rotates it there).
    pub never_rotated_in: Vec<String>,
}

fn parse_time(s: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

/// Computes the status of every scheduled or recorded secret as of `now` (seconds since epoch).
pub fn status(loaded: &[Loaded], ledger: &Ledger, schedules: &Schedules, now: i64) -> Vec<Row> {
    // Name → (file, environment, value) of each non-template holder.
    let mut names: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for l in loaded.iter().filter(|l| !l.file.template) {
        for b in l.doc.bindings() {
            let Some(v) = l.doc.get(&b.key) else { continue };
            // The previous half of a dual secret ages with its current half.
            let previous = b.key.ends_with("_BACKUP") || b.key.ends_with("_PREVIOUS");
            if (schedules.period(&b.key).is_some() && !previous)
                || ledger.secrets.contains_key(&b.key)
            {
                let e = names.entry(b.key.clone()).or_default();
                let f = l.file.path.display().to_string();
                if !e.iter().any(|(p, _, _)| p == &f) {
                    e.push((f, l.file.environment.clone(), v.to_owned()));
                }
            }
        }
    }
    for n in ledger.secrets.keys() {
        names.entry(n.clone()).or_default();
    }
    let mut rows = Vec::new();
    for (name, holders) in names {
        let period = schedules.period(&name);
        let record = ledger.secrets.get(&name);
        let files: Vec<String> = holders.iter().map(|(f, _, _)| f.clone()).collect();
        let at = record.and_then(|r| parse_time(&r.rotated_at));
        let age = at.map(|t| (now - t).max(0) / 86_400);
        let due_secs = match (at, period) {
            (Some(t), Some((days, _))) => Some(t + days as i64 * 86_400 - now),
            _ => None,
        };
        let due = due_secs.map(|s| (s as f64 / 86_400.0).round() as i64);
        let changed = record.is_some_and(|r| {
            holders.iter().any(|(_, env, v)| {
                !v.is_empty()
                    && r.hash_for(env)
                        .is_some_and(|h| h != ledger.hash(&name, v).as_str())
            })
        });
        // Environments whose value Vigil never set (a first rotation with `--environment`):
        // the secret is as old as its oldest value, and that age is unknown.
        let mut never: Vec<String> = match record {
            Some(r) => holders
                .iter()
                .filter(|(_, env, v)| !v.is_empty() && r.hash_for(env).is_none())
                .map(|(_, env, _)| env.clone())
                .collect(),
            None => Vec::new(),
        };
        never.sort();
        never.dedup();
        let state = match (record, period, due_secs) {
            (None, _, _) => State::Untracked,
            _ if !never.is_empty() => State::Untracked,
            (Some(_), None, _) => State::Unscheduled,
            (Some(_), Some(_), Some(s)) if s < 0 => State::Overdue,
            (Some(_), Some(_), Some(s)) if s <= SOON_DAYS * 86_400 => State::DueSoon,
            _ => State::Ok,
        };
        rows.push(Row {
            name,
            state,
            changed,
            schedule: period.map(|(_, t)| t.to_owned()),
            rotated_at: record.map(|r| r.rotated_at.clone()),
            age_days: age,
            due_in_days: due,
            files,
            never_rotated_in: never,
        });
    }
    rows
}

/// Why the status cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A schedule of `[env.schedules]`.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A rotation time in the ledger that is not a time, or lies in the future.
    #[error("{path}:{line}: secrets.{name}.rotated_at {why}; the age of {name} cannot be told: fix the date, or rotate it again (vigil env rotate --tokens {name} --write)")]
    Date {
        /// The ledger.
        path: String,
        /// 1-based line of the date.
        line: usize,
        /// The secret.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// How far in the future a recorded time may be (clocks of two machines differ a little).
const SKEW: i64 = 300;

/// Refuses a ledger whose rotation times are not RFC 3339 times or lie in the future.
fn check_dates(root: &std::path::Path, ledger: &Ledger, now: i64) -> Result<(), StatusError> {
    for (name, r) in &ledger.secrets {
        let why = match parse_time(&r.rotated_at) {
            None => "is not an RFC 3339 time",
            Some(t) if t > now + SKEW => "lies in the future",
            Some(_) => continue,
        };
        let path = root.join(crate::ledger::LEDGER);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let line = vigil_core::Config::parse(path.clone(), text)
            .map(|c| c.line_of_key(&format!("secrets.{name}.rotated_at")))
            .unwrap_or(0);
        return Err(StatusError::Date {
            path: path.display().to_string(),
            line,
            name: name.clone(),
            why,
        });
    }
    Ok(())
}

impl crate::Project {
    /// The status of every scheduled or recorded secret as of `now` (seconds since the epoch).
    pub fn status(&self, now: i64) -> Result<Vec<Row>, StatusError> {
        let ledger = Ledger::load(self.root())?;
        check_dates(self.root(), &ledger, now)?;
        let schedules = self.settings.schedules()?;
        Ok(status(&self.files, &ledger, &schedules, now))
    }
}
