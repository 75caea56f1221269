//! Resident memory and CPU time of this process, from `/proc/self` (Linux).

use std::fmt::Write as _;

use crate::metrics as m;

/// `/proc/<pid>/stat` reports times in USER_HZ clock ticks, which the kernel fixes at 100 for
/// user space on the architectures we run on.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub rss_bytes: u64,
    /// User + system.
    pub cpu_seconds: f64,
}

/// Reads `/proc/self/status` and `/proc/self/stat`; `None` where `/proc` is not available.
pub fn sample() -> Option<ProcessSample> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    Some(ProcessSample {
        rss_bytes: rss_bytes(&status)?,
        cpu_seconds: cpu_seconds(&stat)?,
    })
}

/// `VmRSS:   1234 kB` of `/proc/<pid>/status`, in bytes.
pub fn rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// utime + stime (fields 14 and 15) of `/proc/<pid>/stat`, in seconds. The command name (field
/// 2) may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// Appends the CPU counter. It is written here rather than through the recorder, whose counters
/// are integers: whole seconds would make `rate()` of a mostly idle process a staircase.
pub fn render_cpu(out: &mut String, seconds: f64) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = write!(
        out,
        "# HELP {name} CPU time (user + system) used by this process\n\
         # TYPE {name} counter\n{name} {seconds}\n\n",
        name = m::PROCESS_CPU_SECONDS
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_counts_fields_after_the_command_name() {
        let stat = "4242 (pocket (watcher) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_seconds(stat), Some(3.25));
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn rss_is_read_in_bytes() {
        let status = "Name:\tpocketwatcher\nVmPeak:\t  9000 kB\nVmRSS:\t  2048 kB\nThreads:\t9\n";
        assert_eq!(rss_bytes(status), Some(2048 * 1024));
        assert_eq!(rss_bytes("Name: x\n"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample().expect("/proc/self");
        assert!(s.rss_bytes > 1024 * 1024, "{s:?}");
        assert!(s.cpu_seconds >= 0.0);
    }

    #[test]
    fn the_cpu_counter_is_a_float_counter() {
        let mut text = String::from("a 1");
        render_cpu(&mut text, 1.5);
        assert!(text.starts_with("a 1\n# HELP pocketwatcher_process_cpu_seconds_total"));
        assert!(text.contains("# TYPE pocketwatcher_process_cpu_seconds_total counter\n"));
        assert!(text.contains("\npocketwatcher_process_cpu_seconds_total 1.5\n"));
    }
}
