//! Exit codes: the only place they are numbers (CONTRACT.md "Exit codes").

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success (compare: at least one model answered).
    Success,
    /// 1: every attempt failed, or the provider rejected the request.
    Failed,
    /// 2: usage, profile or input error.
    Usage,
    /// 3: refused by a budget.
    Budget,
    /// 4: an answer was started but no model could complete it.
    Incomplete,
    /// 130: interrupted (SIGINT).
    Interrupted,
    /// 143: terminated (SIGTERM).
    Terminated,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Budget => 3,
            ExitStatus::Incomplete => 4,
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}
