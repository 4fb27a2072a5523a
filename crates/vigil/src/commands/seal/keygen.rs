//! `vigil seal keygen`: a new random key, as a `kid:<base64>` entry for VIGIL_SEAL_KEYS (or a
//! Fernet key). Printed on stdout only; nothing is written anywhere.

use anyhow::bail;
use clap::{Args, ValueEnum};
use vigil_core::ExitStatus;
use vigil_seal::{FernetKey, MasterKey};

/// Arguments of `vigil seal keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Key id to print before the key [default: derived from the key, e.g. kQ3x9aZ1b].
    #[arg(long, value_name = "ID")]
    pub kid: Option<String>,
    /// What kind of key to print.
    #[arg(long, value_enum, default_value_t = KeyFormat::Vseal)]
    pub format: KeyFormat,
}

/// `--format` of keygen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyFormat {
    /// A VIGIL_SEAL_KEYS entry, `kid:<base64 of 32 random bytes>`.
    Vseal,
    /// A Fernet key for FERNET_KEY, as Fernet.generate_key() prints it.
    Fernet,
}

/// Runs `vigil seal keygen`.
pub(super) fn run(a: KeygenArgs) -> anyhow::Result<ExitStatus> {
    match a.format {
        KeyFormat::Fernet => {
            if a.kid.is_some() {
                bail!("--kid: Fernet keys have no id");
            }
            let k = FernetKey::generate()?;
            super::write_out(None, format!("{}\n", k.to_base64().as_str()).as_bytes())?;
        }
        KeyFormat::Vseal => {
            let k = MasterKey::generate()?;
            let kid = a.kid.unwrap_or_else(|| k.derived_kid());
            if !vigil_seal::key::valid_kid(&kid) {
                bail!("--kid: 1 to 32 characters of A-Z a-z 0-9 _ -");
            }
            let line = zeroize::Zeroizing::new(format!("{kid}:{}\n", k.to_base64().as_str()));
            super::write_out(None, line.as_bytes())?;
            eprintln!("put it first in VIGIL_SEAL_KEYS (the first key seals); keep older keys after it until `vigil seal rotate` reports them unused");
        }
    }
    Ok(ExitStatus::Success)
}
