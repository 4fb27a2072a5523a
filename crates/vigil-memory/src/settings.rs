//! `[memory]` resolved once, and every refusal to start: the caps; the transport the flags ask
//! for (stdio needs `--principal`; `--listen` must be a loopback address and needs a key to
//! verify principals with: `[token]`'s ring for client tokens, `[memory.assertion]`'s gateway
//! key for assertions, neither weak); the Host and Origin allow-lists; which folder is a store.
//! Every error names where the value was written ([`Origin`]): a `vigil.toml` key and its line,
//! a flag, an env file's line, or a process variable.

use crate::auth::Authenticator;
use crate::config::{AssertionSection, Limits, MemorySection};
use crate::error::MemoryError;
use crate::server::{HttpSettings, Transport};
use crate::store::{Store, FILES};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use vigil_core::chain::ChainKey;
use vigil_core::size::{SizeError, SizeValue};
use vigil_core::{Config, ConfigError, Origin};
use vigil_env::{EnvFileError, Lookup};
use vigil_token::assertion::MAX_LIFETIME;
use vigil_token::compliance::{refuse_weak, WeakSecret};
use vigil_token::key::{parse_alg, KeyError, UnknownAlgorithm};
use vigil_token::{AssertionVerifier, Key, KeyRing, TokenError, TokenSettings, Verifier};

/// The default `max_lifetime` of a gateway assertion, in seconds.
pub const DEFAULT_ASSERTION_LIFETIME: u64 = 60;

/// The variable holding the audit key when `[memory] audit_key_env` is not set.
pub const DEFAULT_AUDIT_KEY_ENV: &str = "VIGIL_MEMORY_AUDIT_KEY";

/// The issuer assertions must name when `[memory.assertion] issuer` is not set.
pub const DEFAULT_ISSUER: &str = "vigil-gateway";

/// `Host` values accepted on `--listen` when `[memory] allowed_hosts` is not set.
pub const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "localhost", "::1"];

/// Why `vigil memory` cannot start or open a store.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `vigil.toml` itself: unreadable, not TOML, an unknown key, a wrong type, an unset
    /// `${VAR}`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An `--env-file` that cannot be read or parsed.
    #[error(transparent)]
    EnvFile(#[from] EnvFileError),
    /// `[token]`, whose key ring verifies client tokens on `--listen`.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// One setting or flag, and where it was written.
    #[error("{origin}: {error}")]
    Invalid {
        /// Where.
        origin: Origin,
        /// What is wrong.
        error: Box<Invalid>,
    },
    /// `--listen` with no key to verify principals with.
    #[error(
        "no key to verify requests with: set {var} (or [token] keys or a JWKS), \
         or configure [memory.assertion]"
    )]
    NoKey {
        /// The variable that would hold the client tokens' secret.
        var: String,
    },
    /// `audit verify` or `log` on a folder that holds no store.
    #[error("{}: not a memory store (no files/ folder)", path.display())]
    NotAStore {
        /// The folder.
        path: PathBuf,
    },
    /// The store cannot be opened, or a path argument is refused.
    #[error(transparent)]
    Store(#[from] MemoryError),
}

/// What is wrong with one setting of `[memory]` or one flag of `vigil memory`.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// A size that does not parse.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// A cap of 0.
    #[error("must be more than 0")]
    Zero,
    /// A result cap too small to hold one entry.
    #[error("must be at least {0}")]
    BelowMinimum(&'static str),
    /// An algorithm name JOSE does not know.
    #[error(transparent)]
    Algorithm(#[from] UnknownAlgorithm),
    /// A key file or secret that is not a usable key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A weak or well-known secret: anyone who guesses it can sign as anyone.
    #[error(
        "the secret {} (generate one: openssl rand -base64 48); refused",
        .0.weakness
    )]
    Weak(WeakSecret),
    /// The variable `secret_env` names is not set.
    #[error("{0} is not set")]
    Unset(String),
    /// `[memory.assertion]` with neither or both of `public_key` and `secret_env`.
    #[error("give exactly one of public_key or secret_env")]
    AssertionKey,
    /// An assertion lifetime over the ceiling.
    #[error("at most {MAX_LIFETIME} seconds")]
    Lifetime,
    /// Not `IP:PORT`.
    #[error("`{0}` is not an address like 127.0.0.1:8787")]
    Address(String),
    /// A listen address other machines can reach.
    #[error(
        "{0} is not a loopback address; the memory server speaks plain HTTP, so put \
         `vigil gateway` (TLS, rate limits) in front of it and listen on 127.0.0.1"
    )]
    NotLoopback(SocketAddr),
    /// Stdio without `--principal`.
    #[error("required with --stdio: the name the audit log records for every write")]
    Principal,
    /// A principal the audit log cannot record safely.
    #[error("the principal {0} (refused)")]
    BadPrincipal(crate::auth::BadPrincipal),
    /// The previous secret equals the current one: a rotation that was never finished.
    #[error(
        "equals the current secret (a rotation left half done): unset it or give the old secret"
    )]
    SamePrevious,
    /// A `--head` that is not `SEQ:HASH`.
    #[error("`{0}` is not a head like 12:<64 hex digits> (as `audit verify` prints it)")]
    Head(String),
    /// An audit key too short to key the log with.
    #[error(
        "the audit key must have at least 32 characters (generate one: openssl rand -base64 48)"
    )]
    ShortAuditKey,
    /// An audit key variable that is set but empty (as an unset `${VAR}` in a client config gives).
    #[error(
        "the audit key is set but empty: set a key of at least 32 characters, or unset the variable for a plain (unkeyed) store"
    )]
    EmptyAuditKey,
    /// A `--since` that is neither a time nor a duration.
    #[error("`{0}` is neither an RFC 3339 time nor a duration like 2h or 7d")]
    Since(String),
}

impl SettingsError {
    /// Where the problem was written, when it is one setting, flag, file or variable.
    pub fn origin(&self) -> Option<Origin> {
        match self {
            SettingsError::Config(e) => e.origin(),
            SettingsError::EnvFile(e) => Some(e.origin()),
            SettingsError::Token(e) => e.origin(),
            SettingsError::Invalid { origin, .. } => Some(origin.clone()),
            SettingsError::NoKey { var } => Some(Origin::EnvVar(var.clone())),
            SettingsError::NotAStore { .. } | SettingsError::Store(_) => None,
        }
    }

    fn at(origin: Origin, error: impl Into<Invalid>) -> SettingsError {
        SettingsError::Invalid {
            origin,
            error: Box::new(error.into()),
        }
    }

    /// `--principal NAME` refused by [`crate::auth::check_principal`] (commands other than
    /// `serve` that take one).
    pub fn bad_principal(why: crate::auth::BadPrincipal) -> SettingsError {
        SettingsError::flag("--principal", Invalid::BadPrincipal(why))
    }

    fn flag(flag: &str, error: impl Into<Invalid>) -> SettingsError {
        SettingsError::at(Origin::Flag(flag.to_owned()), error)
    }
}

/// The flags of `vigil memory serve` that choose the transport.
#[derive(Debug, Clone, Default)]
pub struct ServeFlags {
    /// `--listen ADDR` (Streamable HTTP); stdio without it.
    pub listen: Option<String>,
    /// `--principal NAME` (stdio).
    pub principal: Option<String>,
}

/// Whether [`MemorySettings::open`] may create the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create the store if the folder is missing or empty (`serve`).
    Create,
    /// The store must exist (`audit verify`, `log`): a folder without `files/` is refused.
    Existing,
}

/// `[memory]` resolved: the section, its caps, and the variables of the `--env-file`s.
#[derive(Debug, Clone)]
pub struct MemorySettings {
    /// `[memory]` as written (`${VAR}` expanded).
    pub section: MemorySection,
    /// The caps and durability policy.
    pub limits: Limits,
    env_files: Vec<PathBuf>,
    env: Lookup,
    config: Config,
}

impl MemorySettings {
    /// Reads the `env_files` and `[memory]` of `config` (`${VAR}` from the files first, then
    /// the process environment) and checks the caps.
    pub fn resolve(
        config: &Config,
        env_files: &[PathBuf],
    ) -> Result<MemorySettings, SettingsError> {
        let env = Lookup::load(env_files)?;
        let section: MemorySection = config.read(&|var| env.get(var))?;
        let limits = limits(config, &section)?;
        Ok(MemorySettings {
            section,
            limits,
            env_files: env_files.to_vec(),
            env,
            config: config.clone(),
        })
    }

    /// Opens the store at `root` with these caps. [`Open::Existing`] refuses a folder that
    /// holds no store instead of creating one.
    pub fn open(&self, root: &Path, open: Open) -> Result<Store, SettingsError> {
        if open == Open::Existing && !root.join(FILES).is_dir() {
            return Err(SettingsError::NotAStore {
                path: root.to_owned(),
            });
        }
        let key = self.audit_key()?;
        let (limits, mode) = (self.limits.clone(), crate::fsops::Resolve::Openat2);
        Ok(match open {
            Open::Create => Store::open_keyed(root, limits, mode, key)?,
            Open::Existing => Store::open_reader(root, limits, mode, key)?,
        })
    }

    /// The variable that holds the audit key (`[memory] audit_key_env`, default
    /// `VIGIL_MEMORY_AUDIT_KEY`).
    pub fn audit_key_var(&self) -> &str {
        self.section
            .audit_key_env
            .as_deref()
            .unwrap_or(DEFAULT_AUDIT_KEY_ENV)
    }

    /// The audit log's key: HKDF-SHA256 of the secret in [`MemorySettings::audit_key_var`],
    /// or `None` when it is unset (a plain SHA-256 chain).
    pub fn audit_key(&self) -> Result<Option<ChainKey>, SettingsError> {
        let var = self.audit_key_var();
        let Some(secret) = self.env.get(var) else {
            return Ok(None);
        };
        // Fail closed: an empty value (an unset `${VAR}` in a client config) must not quietly
        // mean an unkeyed store.
        if secret.is_empty() {
            return Err(SettingsError::at(
                self.env.origin(var),
                Invalid::EmptyAuditKey,
            ));
        }
        vigil_core::redact::register(&secret);
        if secret.len() < 32 || secret.chars().all(|c| secret.starts_with(c)) {
            return Err(SettingsError::at(
                self.env.origin(var),
                Invalid::ShortAuditKey,
            ));
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"vigil-memory-audit"), secret.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(b"audit-chain-hmac-sha256-v1", &mut key)
            .expect("32 bytes is a valid HKDF length");
        Ok(Some(ChainKey::new(key)))
    }

    /// The transport `flags` ask for, or why the server must not start: stdio without a
    /// principal; `--listen` on an address that is not loopback, or with no key (or a weak one)
    /// to verify principals with.
    pub fn transport(&self, flags: &ServeFlags) -> Result<Transport, SettingsError> {
        let Some(listen) = &flags.listen else {
            let principal = flags
                .principal
                .as_deref()
                // Only ASCII spaces are trimmed: a no-break or other odd space is refused below.
                .map(|p| p.trim_matches(' '))
                .filter(|p| !p.is_empty())
                .ok_or_else(|| SettingsError::flag("--principal", Invalid::Principal))?;
            crate::auth::check_principal(principal)
                .map_err(|why| SettingsError::flag("--principal", Invalid::BadPrincipal(why)))?;
            return Ok(Transport::Stdio {
                principal: principal.to_owned(),
            });
        };
        let addr: SocketAddr = listen
            .parse()
            .map_err(|_| SettingsError::flag("--listen", Invalid::Address(listen.clone())))?;
        if !addr.ip().is_loopback() {
            return Err(SettingsError::flag("--listen", Invalid::NotLoopback(addr)));
        }
        let s = &self.section;
        Ok(Transport::Http {
            addr,
            auth: Arc::new(self.authenticator()?),
            settings: HttpSettings {
                allowed_hosts: s
                    .allowed_hosts
                    .clone()
                    .unwrap_or_else(|| LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect()),
                allowed_origins: s.allowed_origins.clone().unwrap_or_default(),
                // A file's content, JSON-escaped at worst six bytes per byte, and the envelope.
                max_body: usize::try_from(self.limits.max_file_size)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(6)
                    .saturating_add(64 * 1024),
                max_sessions: s.max_sessions.unwrap_or(256).max(1),
                session_idle: s
                    .session_idle
                    .unwrap_or(std::time::Duration::from_secs(300))
                    .max(std::time::Duration::from_secs(1)),
            },
        })
    }

    /// Client tokens from `[token]` (audience `[memory] audience`) and gateway assertions from
    /// `[memory.assertion]`; at least one, and no weak HMAC secret in either.
    fn authenticator(&self) -> Result<Authenticator, SettingsError> {
        let token = TokenSettings::load(&self.config, &self.env_files)?;
        let (cur, prev) = (token.section.secret_env(), token.section.previous_env());
        if let (Some(a), Some(b)) = (self.env.get(cur), self.env.get(prev)) {
            if !a.is_empty() && a == b && cur != prev {
                return Err(SettingsError::at(
                    self.env.origin(prev),
                    Invalid::SamePrevious,
                ));
            }
        }
        let ring = token.ring(&Default::default())?;
        refuse_weak(ring.keys(), false).map_err(|w| self.weak(w))?;
        let tokens = (!ring.keys().is_empty() || ring.jwks().is_some())
            .then(|| token.policy().map(|policy| Verifier::new(ring, policy)))
            .transpose()?;
        let audience = self.section.audience();
        let assertions = match &self.section.assertion {
            None => None,
            Some(a) => Some(self.assertion_verifier(a, audience)?),
        };
        Authenticator::new(tokens, audience, assertions).ok_or_else(|| SettingsError::NoKey {
            var: token.section.secret_env().to_owned(),
        })
    }

    /// A weak secret, placed where its value was written (an env file's line or a variable).
    fn weak(&self, w: WeakSecret) -> SettingsError {
        SettingsError::at(self.env.origin(&w.source_name), Invalid::Weak(w))
    }

    fn assertion_verifier(
        &self,
        a: &AssertionSection,
        audience: &str,
    ) -> Result<AssertionVerifier, SettingsError> {
        let at = |key: &str| {
            let origin = self.config.origin(&format!("memory.assertion{key}"));
            move |e: Invalid| SettingsError::at(origin, e)
        };
        let max = match a.max_lifetime {
            None => DEFAULT_ASSERTION_LIFETIME,
            Some(d) if d.as_secs() == 0 => return Err(at(".max_lifetime")(Invalid::Zero)),
            Some(d) if d.as_secs() > MAX_LIFETIME => {
                return Err(at(".max_lifetime")(Invalid::Lifetime))
            }
            Some(d) => d.as_secs(),
        };
        let alg = match &a.alg {
            Some(s) => Some(parse_alg(s).map_err(|e| at(".alg")(e.into()))?),
            None => None,
        };
        let key = match (&a.public_key, &a.secret_env) {
            (Some(p), None) => {
                let path = self.config.base_dir().join(p);
                Key::from_pem_files(None, alg, Some(&path), None)
                    .map_err(|e| at(".public_key")(e.into()))?
            }
            (None, Some(var)) => {
                let Some(secret) = self.env.get(var).filter(|s| !s.is_empty()) else {
                    return Err(at(".secret_env")(Invalid::Unset(var.clone())));
                };
                vigil_core::redact::register(&secret);
                let alg = alg.unwrap_or(vigil_token::Algorithm::HS256);
                let key = Key::hmac(var, secret.as_bytes(), alg)
                    .map_err(|e| at(".secret_env")(e.into()))?;
                refuse_weak([&key], false).map_err(|w| self.weak(w))?;
                key.verify_only()
            }
            _ => return Err(at("")(Invalid::AssertionKey)),
        };
        let mut ring = KeyRing::new();
        ring.push(key);
        Ok(AssertionVerifier::new(
            ring,
            a.issuer.as_deref().unwrap_or(DEFAULT_ISSUER),
            a.audience.as_deref().unwrap_or(audience),
            max,
        ))
    }
}

/// The caps `[memory]` sets (defaults for what it leaves out).
fn limits(config: &Config, s: &MemorySection) -> Result<Limits, SettingsError> {
    let d = Limits::default();
    let at = |key: &str| config.origin(&format!("memory.{key}"));
    let size = |v: &Option<SizeValue>, key: &str, default: u64| match v {
        None => Ok(default),
        Some(v) => match v.bytes() {
            Ok(0) => Err(SettingsError::at(at(key), Invalid::Zero)),
            Ok(b) => Ok(b),
            Err(e) => Err(SettingsError::at(at(key), e)),
        },
    };
    let l = Limits {
        max_file_size: size(&s.max_file_size, "max_file_size", d.max_file_size)?,
        max_result_size: size(&s.max_result_size, "max_result_size", d.max_result_size)?,
        max_files_per_dir: s.max_files_per_dir.unwrap_or(d.max_files_per_dir),
        max_depth: s.max_depth.unwrap_or(d.max_depth),
        max_total_size: size(&s.max_total_size, "max_total_size", d.max_total_size)?,
        fsync: s.fsync.unwrap_or(d.fsync),
    };
    if l.max_result_size < 1024 {
        return Err(SettingsError::at(
            at("max_result_size"),
            Invalid::BelowMinimum("1KiB"),
        ));
    }
    if l.max_files_per_dir == 0 {
        return Err(SettingsError::at(at("max_files_per_dir"), Invalid::Zero));
    }
    if l.max_depth == 0 {
        return Err(SettingsError::at(at("max_depth"), Invalid::Zero));
    }
    Ok(l)
}

/// What `vigil memory log` asks for: a file or folder of the store, and a start time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeQuery {
    /// The file, or the folder whose files are meant (NFC, `/`-separated); `None`: all.
    pub path: Option<String>,
    /// Only changes from this time on.
    pub since: Option<SystemTime>,
}

impl ChangeQuery {
    /// From `PATH` (checked like a tool's path) and `--since` (RFC 3339, a date, or a duration
    /// before `now` such as `2h` or `7d`).
    pub fn from_flags(
        path: Option<&str>,
        since: Option<&str>,
        now: SystemTime,
    ) -> Result<ChangeQuery, SettingsError> {
        let path = match path {
            Some(p) => Some(crate::name::dir_path(p)?.as_string()).filter(|p| !p.is_empty()),
            None => None,
        };
        let since = since.map(|s| parse_since(s, now)).transpose()?;
        Ok(ChangeQuery { path, since })
    }
}

/// A head given on the command line: `SEQ:HASH` (64 hex digits).
pub fn parse_head(s: &str) -> Result<(u64, String), SettingsError> {
    let bad = || SettingsError::flag("--head", Invalid::Head(s.chars().take(80).collect()));
    let (seq, hash) = s.split_once(':').ok_or_else(bad)?;
    let seq: u64 = seq.trim().parse().map_err(|_| bad())?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok((seq, hash))
}

fn parse_since(s: &str, now: SystemTime) -> Result<SystemTime, SettingsError> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s} 00:00:00")) {
        return Ok(t);
    }
    let invalid = || SettingsError::flag("--since", Invalid::Since(s.to_owned()));
    let d = vigil_core::duration::parse(s).map_err(|_| invalid())?;
    now.checked_sub(d).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(text: &str) -> Result<MemorySettings, SettingsError> {
        let config = Config::parse("vigil.toml".into(), text.to_owned()).unwrap();
        MemorySettings::resolve(&config, &[])
    }

    #[test]
    fn caps_default_and_each_bad_cap_names_its_key_and_line() {
        assert_eq!(settings("").unwrap().limits, Limits::default());
        let s = settings("[memory]\nmax_file_size = \"1MiB\"\nfsync = false\n").unwrap();
        assert_eq!(s.limits.max_file_size, 1 << 20);
        assert!(!s.limits.fsync);
        for (text, line, key, message) in [
            (
                "[memory]\n\nmax_file_size = \"lots\"\n",
                3,
                "memory.max_file_size",
                "is not a size",
            ),
            (
                "[memory]\nmax_result_size = 100\n",
                2,
                "memory.max_result_size",
                "at least 1KiB",
            ),
            (
                "[memory]\nmax_total_size = 0\n",
                2,
                "memory.max_total_size",
                "more than 0",
            ),
            (
                "[memory]\nmax_depth = 0\n",
                2,
                "memory.max_depth",
                "more than 0",
            ),
            (
                "[memory]\nmax_files_per_dir = 0\n",
                2,
                "memory.max_files_per_dir",
                "more than 0",
            ),
        ] {
            let e = settings(text).unwrap_err();
            assert_eq!(
                e.origin(),
                Some(Origin::ConfigKey {
                    path: "vigil.toml".into(),
                    line: Some(line),
                    key: key.into()
                }),
                "{text}"
            );
            assert!(e.to_string().contains(message), "{e}");
        }
    }

    #[test]
    fn refusals_to_serve_name_the_flag() {
        let s = settings("").unwrap();
        let flags = |listen: Option<&str>, principal: Option<&str>| ServeFlags {
            listen: listen.map(Into::into),
            principal: principal.map(Into::into),
        };
        let origin = |f: ServeFlags| s.transport(&f).unwrap_err().origin();
        assert_eq!(
            origin(flags(None, None)),
            Some(Origin::Flag("--principal".into()))
        );
        assert_eq!(
            origin(flags(None, Some("  "))),
            Some(Origin::Flag("--principal".into()))
        );
        assert!(matches!(
            s.transport(&flags(None, Some("alice"))).unwrap(),
            Transport::Stdio { principal } if principal == "alice"
        ));
        let e = s.transport(&flags(Some("0.0.0.0:0"), None)).unwrap_err();
        assert_eq!(e.origin(), Some(Origin::Flag("--listen".into())));
        assert!(e.to_string().contains("not a loopback address"), "{e}");
        assert_eq!(
            origin(flags(Some("localhost"), None)),
            Some(Origin::Flag("--listen".into()))
        );
    }

    #[test]
    fn listen_needs_a_strong_key() {
        // No [token] secret (a variable surely unset) and no assertion key: nothing to verify.
        let unset = "[token]\nsecret_env = \"VIGIL_TEST_MEMORY_UNSET\"\n\
                     previous_secret_env = \"VIGIL_TEST_MEMORY_UNSET\"\n";
        let s = settings(unset).unwrap();
        let listen = ServeFlags {
            listen: Some("127.0.0.1:0".into()),
            principal: None,
        };
        let e = s.transport(&listen).unwrap_err();
        assert!(matches!(e, SettingsError::NoKey { .. }), "{e}");
        assert!(e.to_string().starts_with("no key"), "{e}");
        // A gateway secret that is a well-known default is refused, naming its variable.
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env.test");
        std::fs::write(&env, "GW=changeme\n").unwrap();
        let config = Config::parse(
            "vigil.toml".into(),
            format!("{unset}[memory.assertion]\nsecret_env = \"GW\"\n"),
        )
        .unwrap();
        let s = MemorySettings::resolve(&config, std::slice::from_ref(&env)).unwrap();
        let e = s.transport(&listen).unwrap_err();
        assert_eq!(
            e.origin(),
            Some(Origin::EnvFile {
                path: env.clone(),
                line: Some(1),
                key: Some("GW".into())
            })
        );
        assert!(e.to_string().contains("refused"), "{e}");
        // Both key kinds at once, or a lifetime over the ceiling: refused with the key's line.
        for (text, key) in [
            (
                "[memory.assertion]\nsecret_env = \"GW\"\npublic_key = \"k.pem\"\n",
                "memory.assertion",
            ),
            (
                "[memory.assertion]\nsecret_env = \"GW\"\nmax_lifetime = \"10m\"\n",
                "memory.assertion.max_lifetime",
            ),
            (
                "[memory.assertion]\nsecret_env = \"VIGIL_TEST_MEMORY_UNSET\"\n",
                "memory.assertion.secret_env",
            ),
        ] {
            let e = settings(&format!("{unset}{text}"))
                .unwrap()
                .transport(&listen)
                .unwrap_err();
            match e.origin() {
                Some(Origin::ConfigKey { key: k, .. }) => assert_eq!(k, key, "{e}"),
                o => panic!("{text}: {o:?} ({e})"),
            }
        }
    }

    #[test]
    fn since_reads_times_dates_and_durations() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let q = ChangeQuery::from_flags(Some("people/"), Some("2h"), now).unwrap();
        assert_eq!(q.path.as_deref(), Some("people"));
        assert_eq!(q.since, Some(now - Duration::from_secs(7200)));
        let q = ChangeQuery::from_flags(None, Some("2026-11-01"), now).unwrap();
        assert_eq!(
            q.since,
            Some(humantime::parse_rfc3339("2026-11-01T00:00:00Z").unwrap())
        );
        let e = ChangeQuery::from_flags(None, Some("last tuesday"), now).unwrap_err();
        assert_eq!(e.origin(), Some(Origin::Flag("--since".into())));
        assert!(ChangeQuery::from_flags(Some("../x"), None, now).is_err());
    }
}
