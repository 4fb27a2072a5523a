//! The one exit-code contract every `vigil` command keeps.

/// How a `vigil` command ended, as the process exit code a script sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command ran and found nothing to report.
    Success,
    /// 1: the command ran and its check found something (findings, overdue secrets, ...).
    Failure,
    /// 2: bad usage or bad input; one line on stderr says what and where.
    Error,
    /// The code the user chose for "found something" (`--exit-code N`).
    Custom(u8),
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Custom(c) => c,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}
