//! Figures about this process that the operating system keeps.

/// Resident set size in bytes, from `/proc/self/status` (Linux). `None`
/// where there is no procfs: the gauge is then simply absent.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:` line, given in kB (KiB, despite the unit's name).
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_vm_rss_line() {
        let status = "Name:\tticketctl\nVmPeak:\t  999 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(20 * 1024 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_some_resident_memory() {
        let bytes = resident_memory_bytes().expect("procfs on Linux");
        assert!(bytes > 1024 * 1024, "{bytes}");
    }
}
