//! Small pages while a registry is read, and in the server.
//!
//! Why: reading a 250M-row Parquet registry allocates and frees decoding
//! buffers by the thousand. With transparent huge pages the allocator's
//! regions fault in 2 MiB at a time, so every short-lived buffer costs the
//! kernel a 2 MiB clear (measured: a third of the CPU of a cold G1 run). The
//! evaluation phase, by contrast, profits from huge pages (random probes into
//! gigabytes of history). So huge pages are turned off only while registry
//! rows are read and filed, and back on after.
//!
//! `scrub serve` runs on small pages from start to stop. Its start builds
//! ~1.4 GB of indexes from a store of 1M exclusions and 5.1M attempts, and
//! there the clears (and compaction) were 13% of the CPU: with small pages
//! the median start is 8.3 s against 9.2 s (2 cores, 7 alternating starts
//! each). Serving allocates small, short-lived buffers per request: check
//! throughput under `bench/rest` is the same either way, and the checks' p99
//! was lower with small pages (median 3.4 ms against 4.4 ms over 8 runs each).
//! Batch evaluation keeps huge pages: G2 took 69 s with them, 78–88 s without.

/// While alive, new page faults of the process use 4 KiB pages (Linux;
/// elsewhere, or when the kernel refuses, it does nothing).
pub struct SmallPages {
    restore: bool,
}

impl SmallPages {
    pub fn new() -> SmallPages {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: prctl with these options only reads/sets a per-process flag.
            let off = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            if off == 0 && unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0 {
                return SmallPages { restore: true };
            }
        }
        SmallPages { restore: false }
    }
}

impl Default for SmallPages {
    fn default() -> Self {
        SmallPages::new()
    }
}

impl Drop for SmallPages {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if self.restore {
            // SAFETY: as above.
            unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn turns_huge_pages_off_and_back() {
        // SAFETY: reads a per-process flag.
        let get = || unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        let before = get();
        {
            let _g = super::SmallPages::new();
            assert_eq!(get(), 1);
        }
        assert_eq!(get(), before);
    }
}
