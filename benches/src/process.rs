//! The process's own memory, as the operating system counts it.

/// The resident set size of this process in MiB (`VmRSS` of `/proc/self/status`): what the
/// machine actually has to provide, allocator overhead and page caches included.
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib / 1024.0
}

/// CPU time this process has used so far, all threads, user and system (from
/// `/proc/self/stat`, in clock ticks of 10 ms). Compared with wall time over a run it tells
/// whether a benchmark was bound by the two cores or by waiting (for a flush, a lock, a peer).
pub fn cpu_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    std::time::Duration::from_millis(ticks * 10)
}

/// CPU time the whole machine has spent busy so far, every process, every core (from
/// `/proc/stat`). Beside [`cpu_time`] it shows how much of a run the machine gave to other
/// work: on a shared two-core machine that explains a figure that moved between runs.
pub fn machine_busy_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let line = stat.lines().next().expect("cpu line");
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().expect("tick count"))
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(index, _)| *index != 3 && *index != 4)
        .map(|(_, ticks)| ticks)
        .sum();
    std::time::Duration::from_millis(busy * 10)
}
