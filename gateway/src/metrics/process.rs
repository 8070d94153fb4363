//! The process metrics every Prometheus client library exports (CPU, memory, file
//! descriptors, start time), read from `/proc/self` on Linux; elsewhere they are left out.

use super::exposition::{Exposition, Type};

/// Appends the process families to `text`.
pub(super) fn write(text: &mut Exposition) {
    #[cfg(target_os = "linux")]
    linux::write(text);
    #[cfg(not(target_os = "linux"))]
    let _ = text;
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{Exposition, Type};

    /// Clock ticks per second of `/proc/self/stat`'s CPU times and start time: 100 on every
    /// Linux architecture this runs on (USER_HZ is fixed by the kernel ABI).
    const TICKS_PER_SECOND: f64 = 100.0;
    const PAGE_SIZE: f64 = 4096.0;

    pub(super) fn write(text: &mut Exposition) {
        if let Some(stat) = Stat::read() {
            text.family(
                "process_cpu_seconds_total",
                Type::Counter,
                "Total user and system CPU time spent in seconds.",
            )
            .sample(
                "process_cpu_seconds_total",
                &[],
                (stat.utime + stat.stime) / TICKS_PER_SECOND,
            );
            text.family(
                "process_virtual_memory_bytes",
                Type::Gauge,
                "Virtual memory size in bytes.",
            )
            .sample("process_virtual_memory_bytes", &[], stat.vsize);
            text.family(
                "process_resident_memory_bytes",
                Type::Gauge,
                "Resident memory size in bytes.",
            )
            .sample(
                "process_resident_memory_bytes",
                &[],
                stat.rss_pages * PAGE_SIZE,
            );
            text.family(
                "process_threads",
                Type::Gauge,
                "Number of OS threads in the process.",
            )
            .sample("process_threads", &[], stat.threads);
            if let Some(boot) = boot_time() {
                text.family(
                    "process_start_time_seconds",
                    Type::Gauge,
                    "Start time of the process since unix epoch in seconds.",
                )
                .sample(
                    "process_start_time_seconds",
                    &[],
                    boot + stat.start_ticks / TICKS_PER_SECOND,
                );
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            text.family(
                "process_open_fds",
                Type::Gauge,
                "Number of open file descriptors.",
            )
            .sample("process_open_fds", &[], entries.count() as f64);
        }
        if let Some(max) = max_fds() {
            text.family(
                "process_max_fds",
                Type::Gauge,
                "Maximum number of open file descriptors.",
            )
            .sample("process_max_fds", &[], max);
        }
    }

    struct Stat {
        utime: f64,
        stime: f64,
        threads: f64,
        start_ticks: f64,
        vsize: f64,
        rss_pages: f64,
    }

    impl Stat {
        fn read() -> Option<Stat> {
            parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
        }
    }

    /// Fields after the command name (which is in parentheses and may hold spaces), numbered
    /// as in proc(5) from field 3 (`state`) on.
    fn parse_stat(text: &str) -> Option<Stat> {
        let after_name = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |number: usize| -> Option<f64> { fields.get(number - 3)?.parse().ok() };
        Some(Stat {
            utime: field(14)?,
            stime: field(15)?,
            threads: field(20)?,
            start_ticks: field(22)?,
            vsize: field(23)?,
            rss_pages: field(24)?,
        })
    }

    fn boot_time() -> Option<f64> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("btime "))
            .and_then(|seconds| seconds.trim().parse().ok())
    }

    fn max_fds() -> Option<f64> {
        let text = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = text
            .lines()
            .find(|line| line.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_the_stat_line_even_with_spaces_in_the_name() {
            let line = "42 (ev rental) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 \
                        1234 104857600 2560 18446744073709551615";
            let stat = parse_stat(line).unwrap();
            assert_eq!((stat.utime, stat.stime), (250.0, 50.0));
            assert_eq!(stat.threads, 7.0);
            assert_eq!(stat.start_ticks, 1234.0);
            assert_eq!(stat.vsize, 104_857_600.0);
            assert_eq!(stat.rss_pages, 2560.0);
        }

        #[test]
        fn this_process_has_threads_memory_and_descriptors() {
            let mut text = Exposition::default();
            write(&mut text);
            let text = text.finish();
            for family in [
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_open_fds ",
                "process_max_fds ",
                "process_start_time_seconds ",
            ] {
                assert!(text.contains(family), "{family} missing:\n{text}");
            }
        }
    }
}
