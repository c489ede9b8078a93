//! Reading this process's memory use (Linux `/proc/self/status`), for logs and benchmarks.

/// Resident memory of this process in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Current resident set size (`VmRSS`).
    pub resident_bytes: u64,
    /// Peak resident set size so far (`VmHWM`).
    pub peak_resident_bytes: u64,
}

/// Returns the current and peak resident memory, or `None` where `/proc` is unavailable.
pub fn current() -> Option<MemoryUsage> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status(&status)
}

fn parse_status(status: &str) -> Option<MemoryUsage> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some(MemoryUsage {
        resident_bytes: field("VmRSS:")?,
        peak_resident_bytes: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(
            parse_status(status),
            Some(MemoryUsage {
                resident_bytes: 1024 * 1024,
                peak_resident_bytes: 2048 * 1024
            })
        );
        assert_eq!(parse_status("Name:\tx\n"), None);
        assert!(current().is_some());
    }
}
