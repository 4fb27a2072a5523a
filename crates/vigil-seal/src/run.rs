//! What `vigil seal run` gives its child: every value of the env files, sealed ones decrypted in
//! memory, after two checks that keep someone who can *edit* an env file (but holds no seal key)
//! from reading or replacing the sealed values through the child:
//!
//! - **Loader and interpreter hooks are refused** ([`is_hook`]): `LD_PRELOAD`, `PYTHONPATH`,
//!   `NODE_OPTIONS`, `BASH_ENV`, `PATH`… set in an env file would run the editor's code inside
//!   the child, next to every plaintext; CA bundles and `SSLKEYLOGFILE` would let them read the
//!   child's TLS traffic. Each is refused with its file and line unless allowed by name
//!   (`--allow-var`), for a file whose writers are trusted.
//! - **A downgrade is refused**: a key the project's fingerprint index records as sealed in that
//!   file, now holding a plaintext, was changed by someone who could not seal (a sealed value
//!   authenticates itself; a plaintext does not). Refused unless allowed by name
//!   (`--allow-plaintext`).

use crate::context::Context;
use crate::envfile::{load, open_all, Opened};
use crate::error::{Result, SealError};
use crate::index::Index;
use crate::plaintext::Plaintext;
use crate::project::{Placed, Project};
use crate::ring::KeyRing;

/// Variables refused from env files, by exact name: dynamic loaders and interpreters load code
/// from them, shells run them, TLS libraries trust or log through them.
pub const HOOKS: &[&str] = &[
    "PATH",
    "IFS",
    "CDPATH",
    "BASH_ENV",
    "ENV",
    "ZDOTDIR",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "GLIBC_TUNABLES",
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONINSPECT",
    "PYTHONWARNINGS",
    "PYTHONBREAKPOINT",
    "PYTHONEXECUTABLE",
    "PYTHONPLATLIBDIR",
    "NODE_OPTIONS",
    "NODE_PATH",
    "NODE_REPL_EXTERNAL_MODULE",
    "NODE_EXTRA_CA_CERTS",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "LUA_INIT",
    "LUA_PATH",
    "LUA_CPATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXEC_PATH",
    "GIT_ASKPASS",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "SSH_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "LESSOPEN",
    "LESSCLOSE",
    "BROWSER",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "OPENSSL_MODULES",
    "SSLKEYLOGFILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

/// Variables refused from env files, by prefix: every dynamic-loader variable of glibc, musl and
/// macOS (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT`, `DYLD_INSERT_LIBRARIES`…) and git's
/// config injection (`GIT_CONFIG_KEY_0`…).
pub const HOOK_PREFIXES: &[&str] = &["LD_", "DYLD_", "GIT_CONFIG_"];

/// Whether an env file may not set `name` (see the module documentation).
pub fn is_hook(name: &str) -> bool {
    HOOKS.contains(&name) || HOOK_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// One env file for the child: placed, and in a project when one was found (its fingerprint
/// index guards against downgrades; a file given with `--environment` outside any project has
/// none).
#[derive(Debug)]
pub struct Source<'a> {
    /// The file, placed.
    pub placed: Placed,
    /// Its project, when known.
    pub project: Option<&'a Project>,
}

/// What the checks let through, and what they may not.
#[derive(Clone, Debug, Default)]
pub struct Allow {
    /// Hook variables allowed by name.
    pub vars: Vec<String>,
    /// Keys allowed to be plaintext although recorded as sealed.
    pub plaintext: Vec<String>,
}

/// The variables for the child, in file order (later files and bindings win when applied in
/// order): every binding of every file, sealed values decrypted, after the checks.
pub fn values(
    ring: &KeyRing,
    files: &[Source<'_>],
    extra: &Context,
    allow: &Allow,
) -> Result<Vec<(String, Plaintext)>> {
    let mut out = Vec::new();
    for f in files {
        let shown = f.placed.path.display().to_string();
        let (_, doc) = load(&f.placed.path)?;
        let at = |line: usize, message: String| SealError::Env {
            path: shown.clone(),
            line,
            message,
        };
        for b in doc.bindings() {
            if b.value.is_some() && is_hook(&b.key) && !allow.vars.contains(&b.key) {
                return Err(at(
                    b.line,
                    format!("{} would change how the command loads or trusts code (anyone who can edit this file could read every decrypted value through it); refused: remove it, or pass --allow-var {} if only trusted people write this file", b.key, b.key),
                ));
            }
        }
        let opened = open_all(ring, &shown, &doc, &f.placed.environment, extra)?;
        if let Some(p) = f.project {
            if let Some((index, _)) = Index::load_existing(p.root())? {
                let recorded = index.sealed_keys(&f.placed.rel);
                // The value the child gets is the last binding's.
                for key in &recorded {
                    let last = opened.iter().rev().find(|o| o.key == *key);
                    if let Some(Opened {
                        line,
                        sealed: false,
                        ..
                    }) = last
                    {
                        if !allow.plaintext.iter().any(|k| k == key) {
                            return Err(at(
                                *line,
                                format!("{key} was sealed (recorded in {}) and holds a plaintext now: changed by someone who could not seal it; refused. Seal it again (`vigil seal env {shown} --keys {key} --write`), or pass --allow-plaintext {key} if the change is yours", Index::path(p.root()).display()),
                            ));
                        }
                    }
                }
            }
        }
        out.extend(opened.into_iter().map(|o| (o.key, o.value)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hooks_are_recognised_by_name_and_prefix() {
        for h in [
            "LD_PRELOAD",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "BASH_ENV",
            "PATH",
            "GIT_CONFIG_KEY_0",
            "SSLKEYLOGFILE",
        ] {
            assert!(super::is_hook(h), "{h}");
        }
        for v in [
            "OPENROUTER_API_KEY",
            "PORT",
            "PYTHONUNBUFFERED",
            "NODE_ENV",
            "LOAD_PATH_HINT",
        ] {
            assert!(!super::is_hook(v), "{v}");
        }
    }
}
