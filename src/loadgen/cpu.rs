//! CPU time of a process from Linux `/proc/PID/stat`, so a benchmark can show who was busy.

use std::time::Duration;

/// Clock ticks per second of `/proc` times. Linux fixes `USER_HZ` at 100 for user space on
/// every architecture it exposes `/proc` times for, so no `sysconf` call is needed.
const USER_HZ: u64 = 100;

/// User and system CPU time a process has used since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time spent in user mode.
    pub user: Duration,
    /// Time spent in the kernel on the process's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// Returns the CPU time of this process, or `None` where `/proc` is unavailable.
    pub fn of_self() -> Option<Self> {
        Self::read("/proc/self/stat")
    }

    /// Returns the CPU time of process `pid`, or `None` if it cannot be read.
    pub fn of_pid(pid: u32) -> Option<Self> {
        Self::read(&format!("/proc/{pid}/stat"))
    }

    fn read(path: &str) -> Option<Self> {
        parse_stat(&std::fs::read_to_string(path).ok()?)
    }

    /// Returns the total of user and system time.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// Returns the time used between `earlier` and `self` (zero if the counters went back).
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// Parses `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command
/// name (field 2) may contain spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<CpuTime> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let ticks = |field: Option<&str>| field?.parse::<u64>().ok();
    let user = ticks(fields.next())?;
    let system = ticks(fields.next())?;
    let to_duration = |t: u64| Duration::from_millis(t * 1000 / USER_HZ);
    Some(CpuTime {
        user: to_duration(user),
        system: to_duration(system),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_names() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 5 0 0";
        assert_eq!(
            parse_stat(line),
            Some(CpuTime {
                user: Duration::from_millis(2500),
                system: Duration::from_millis(750)
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert!(CpuTime::of_self().is_some());
    }
}
