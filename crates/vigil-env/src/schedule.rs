//! Rotation schedules: how often each secret must change. `[env.schedules]` maps names or globs
//! to `weekly`, `monthly` (30 days), `quarterly` (90), `annually` (365) or a duration
//! (`45 days`, `6w`); the design's defaults apply after them: JWT secrets and database passwords
//! monthly, bot tokens and PATs quarterly, SSH keys annually.

use std::collections::BTreeMap;

/// The design's defaults: (glob, period), first match wins.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("*JWT_SECRET*", "monthly"),
    ("PORTKEY_API_KEY", "monthly"),
    ("*DB_PASSWORD*", "monthly"),
    ("*DATABASE_PASSWORD*", "monthly"),
    ("*POSTGRES_PASSWORD*", "monthly"),
    ("*REDIS_PASSWORD*", "monthly"),
    ("*MYSQL_PASSWORD*", "monthly"),
    ("*WEBHOOK_SECRET*", "monthly"),
    ("*AUTH_TOKEN*", "monthly"),
    ("*BOT_TOKEN*", "quarterly"),
    ("*MICROSOFT_SECRET*", "quarterly"),
    ("GITHUB_TOKEN", "quarterly"),
    ("*GITHUB_PAT*", "quarterly"),
    ("*SSH*KEY*", "annually"),
];

/// A period that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Neither a named period nor a duration.
    #[error("`{0}` is not a period (weekly, monthly, quarterly, annually or e.g. 45 days)")]
    Unknown(String),
    /// A duration under one day.
    #[error("`{0}` is shorter than a day")]
    TooShort(String),
}

/// Parses a period into days.
pub fn period_days(text: &str) -> Result<u64, PeriodError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "weekly" => Ok(7),
        "monthly" => Ok(30),
        "quarterly" => Ok(90),
        "annually" | "yearly" => Ok(365),
        other => {
            let d = vigil_core::duration::parse(other)
                .map_err(|_| PeriodError::Unknown(text.to_owned()))?;
            let days = d.as_secs() / 86_400;
            if days == 0 {
                return Err(PeriodError::TooShort(text.to_owned()));
            }
            Ok(days)
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Schedules in order: the user's first (in file order is not kept by TOML tables, so exact
/// names before globs), then the defaults.
#[derive(Debug, Clone)]
pub struct Schedules {
    rules: Vec<(String, u64, String)>,
}

/// A schedule of `[env.schedules]` that cannot be read. Its place is the key
/// `env.schedules.<name>` ([`ScheduleError::key`]); [`crate::settings`] puts the file and line
/// in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct ScheduleError {
    /// The name or glob the schedule is for.
    pub name: String,
    /// Why.
    pub error: PeriodError,
}

impl ScheduleError {
    /// The dotted key of the schedule (`env.schedules.DISCORD_BOT_TOKEN`).
    pub fn key(&self) -> String {
        format!("env.schedules.{}", self.name)
    }
}

impl Schedules {
    /// Builds from `[env.schedules]`.
    pub fn new(user: &BTreeMap<String, String>) -> Result<Schedules, ScheduleError> {
        let mut exact = Vec::new();
        let mut globs = Vec::new();
        for (k, v) in user {
            let days = period_days(v).map_err(|error| ScheduleError {
                name: k.clone(),
                error,
            })?;
            let r = (k.clone(), days, v.clone());
            if k.contains('*') {
                globs.push(r);
            } else {
                exact.push(r);
            }
        }
        let mut rules = exact;
        rules.extend(globs);
        for (g, p) in DEFAULTS {
            rules.push((
                g.to_string(),
                period_days(p).expect("defaults parse"),
                p.to_string(),
            ));
        }
        Ok(Schedules { rules })
    }

    /// The period of `name` in days, and how it was written.
    pub fn period(&self, name: &str) -> Option<(u64, &str)> {
        self.rules
            .iter()
            .find(|(g, _, _)| glob_match(g, name))
            .map(|(_, d, text)| (*d, text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_periods() {
        assert!(glob_match("*BOT_TOKEN*", "DISCORD_BOT_TOKEN"));
        assert!(glob_match("*SSH*KEY*", "DEPLOY_SSH_PRIVATE_KEY"));
        assert!(!glob_match("*JWT_SECRET*", "JWT_ISSUER"));
        assert_eq!(period_days("45 days").unwrap(), 45);
        assert_eq!(period_days("quarterly").unwrap(), 90);
        assert!(period_days("sometimes").is_err());
        let mut user = BTreeMap::new();
        user.insert("DISCORD_BOT_TOKEN".to_string(), "weekly".to_string());
        let s = Schedules::new(&user).unwrap();
        assert_eq!(s.period("DISCORD_BOT_TOKEN").unwrap().0, 7);
        assert_eq!(s.period("SLACK_BOT_TOKEN").unwrap().0, 90);
        assert_eq!(s.period("MCP_JWT_SECRET").unwrap().0, 30);
        assert!(s.period("PORT").is_none());
    }
}
