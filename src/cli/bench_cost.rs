//! Where the bench's CPU went: per-process CPU time from `/proc`, Redis's own CPU from
//! `INFO cpu`, and the PostgreSQL server's (postmaster, its live children, and children it already
//! reaped), each turned into µs per transaction for the bench's table.

use serde::Serialize;

use crate::telemetry::process::cpu_seconds;

/// `/proc/<pid>/stat` times are in USER_HZ ticks, fixed at 100 for user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// One row of the cost table.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Component {
    pub name: String,
    pub cpu_seconds: f64,
    pub usec_per_tx: f64,
    /// Peak resident memory, for the daemon processes.
    pub peak_rss_mb: Option<f64>,
}

impl Component {
    pub fn new(name: impl Into<String>, cpu_seconds: f64, tx: u64, rss: Option<f64>) -> Self {
        Component {
            name: name.into(),
            cpu_seconds,
            usec_per_tx: cpu_seconds * 1e6 / tx.max(1) as f64,
            peak_rss_mb: rss,
        }
    }
}

/// utime + stime of a live process.
pub fn process_cpu(pid: u32) -> Option<f64> {
    cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Parent pid (field 4) of `/proc/<pid>/stat`.
fn parent_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime + cutime + cstime (fields 14–17): a process and the children it has waited for.
fn cpu_with_reaped_children(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let sum: u64 = (11..15)
        .map(|i| f.get(i)?.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(sum as f64 / TICKS_PER_SECOND)
}

/// The parent of a live process (for a PostgreSQL backend: its postmaster).
pub fn parent_pid(pid: u32) -> Option<u32> {
    parent_of(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU of a whole PostgreSQL server: the postmaster with its reaped children (backends that
/// exited during the run), plus every live child.
pub fn postgres_server_cpu(postmaster: u32) -> Option<f64> {
    let own = cpu_with_reaped_children(
        &std::fs::read_to_string(format!("/proc/{postmaster}/stat")).ok()?,
    )?;
    let mut children = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parent_of(&stat) == Some(postmaster) {
            children += cpu_seconds(&stat).unwrap_or(0.0);
        }
    }
    Some(own + children)
}

/// `(server, children)` CPU seconds from `INFO cpu`: the server's own threads, and its forks
/// (AOF rewrites, RDB saves).
pub fn redis_cpu(info: &str) -> (f64, f64) {
    let get = |k: &str| {
        info.lines()
            .find_map(|l| {
                l.strip_prefix(k)?
                    .strip_prefix(':')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    (
        get("used_cpu_sys") + get("used_cpu_user"),
        get("used_cpu_sys_children") + get("used_cpu_user_children"),
    )
}

/// Mean of a Prometheus histogram (`_sum / _count`), summed over its label sets.
pub fn histogram_mean(text: &str, name: &str) -> Option<f64> {
    let total = |suffix: &str| -> f64 {
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(suffix))
                    .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let count = total("_count");
    (count > 0.0).then(|| total("_sum") / count)
}

/// `_sum` of a Prometheus histogram over the label sets whose labels contain `label` (for
/// example `stage="in_flight_slot"`); 0 when there is none.
pub fn histogram_sum_where(text: &str, name: &str, label: &str) -> f64 {
    let prefix = format!("{name}_sum{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter(|l| {
            l.split('}')
                .next()
                .is_some_and(|labels| labels.contains(label))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        + 0.0 // an empty sum is -0.0
}

/// The aligned cost table; `components` are the pipeline's, `apart` (the feed, a drain's fill)
/// are shown below the total and not counted in it.
pub fn render_table(components: &[Component], apart: &[&Component]) -> String {
    let total: f64 = components.iter().map(|c| c.usec_per_tx).sum();
    let mut out = format!(
        "{:<34} {:>9} {:>9} {:>7} {:>10}\n",
        "component", "CPU s", "us/tx", "share", "peak RSS"
    );
    let row = |c: &Component, share: String| {
        format!(
            "{:<34} {:>9.2} {:>9.2} {:>7} {:>10}\n",
            c.name,
            c.cpu_seconds,
            c.usec_per_tx,
            share,
            c.peak_rss_mb.map_or("-".into(), |m| format!("{m:.1} MB"))
        )
    };
    for c in components {
        out += &row(
            c,
            format!("{:.1}%", 100.0 * c.usec_per_tx / total.max(1e-9)),
        );
    }
    out += &format!(
        "{:<34} {:>9.2} {:>9.2} {:>7}\n",
        "total (pipeline)",
        components.iter().map(|c| c.cpu_seconds).sum::<f64>(),
        total,
        "100%"
    );
    for c in apart {
        out += &row(c, "apart".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str =
        "1234 (postgres: w (x)) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 1 0";

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        assert_eq!(parent_of(STAT), Some(77));
        assert_eq!(cpu_seconds(STAT), Some(3.0));
        assert_eq!(cpu_with_reaped_children(STAT), Some(3.5));
    }

    #[test]
    fn redis_cpu_separates_forks() {
        let info = "# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.5\r\nused_cpu_sys_children:0.25\r\nused_cpu_user_children:0.5\r\n";
        assert_eq!(redis_cpu(info), (4.0, 0.75));
    }

    #[test]
    fn histogram_mean_sums_label_sets() {
        let text = "b_sum{x=\"1\"} 30\nb_count{x=\"1\"} 3\nb_sum{x=\"2\"} 10\nb_count{x=\"2\"} 1\nbb_count 9\n";
        assert_eq!(histogram_mean(text, "b"), Some(10.0));
        assert_eq!(histogram_mean(text, "c"), None);
    }

    #[test]
    fn histogram_sum_where_keeps_only_matching_label_sets() {
        let text = "w_sum{stage=\"in_flight_slot\"} 1.5\nw_sum{stage=\"parser_pool\"} 2\nw_count{stage=\"in_flight_slot\"} 9\nww_sum{stage=\"in_flight_slot\"} 7\n";
        assert_eq!(
            histogram_sum_where(text, "w", "stage=\"in_flight_slot\""),
            1.5
        );
        assert_eq!(histogram_sum_where(text, "w", "stage=\"reader\""), 0.0);
    }

    #[test]
    fn table_is_aligned_and_shares_add_up() {
        let parts = [
            Component::new("daemon (all)", 2.0, 100_000, Some(150.0)),
            Component::new("redis-server", 2.0, 100_000, None),
        ];
        let feed = Component::new("feed (fake geyser)", 1.0, 100_000, None);
        let t = render_table(&parts, &[&feed]);
        let widths: Vec<usize> = t.lines().map(|l| l.trim_end().len()).collect();
        assert!(t.contains("50.0%"), "{t}");
        assert!(t.contains("20.00"), "{t}"); // 2 s over 100k tx = 20 us/tx
        assert!(t.contains("40.00"), "{t}"); // total
        assert!(widths[1] == widths[2], "{t}");
    }
}
