//! The `scrub` binary: parse arguments, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = scrub::cli::Cli::parse();
    let batch = matches!(
        &cli.command,
        scrub::cli::Command::Run(_) | scrub::cli::Command::Load(_) | scrub::cli::Command::Index(_)
    );
    if batch {
        keep_freed_memory();
    }
    let code = match scrub::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scrub: error: {}", chain_text(&e));
            scrub::cli::EXIT_FAILURE
        }
    };
    std::process::exit(code);
}

/// The error and its causes, `: `-joined, skipping a cause whose text the message
/// already ends with (our file errors show their I/O cause in their own text, and
/// `{:#}` would print it twice).
fn chain_text(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.ends_with(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_purge_delay` (its `mi_option_t` enum; the test below
/// checks the index against the option's documented default).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Batch commands (`scrub run`, `scrub load`, `scrub index`) keep the memory
/// they free for reuse instead of handing it back to the OS after a second
/// (mimalloc's default purge delay).
///
/// Why: a scrub frees and reallocates gigabytes (Parquet decoding buffers,
/// staged history groups, columns rebuilt at index time, a CSV chunk's buffers
/// per chunk), and on these VMs a page handed back and faulted in again costs
/// the kernel a fresh clear — ~0.75 s per GB measured, 18% of a G2 run's CPU.
/// Kept: G2 without the registry 440k → 21k page faults and 71 → 62 s; G1
/// (registry only) 9.23 → 8.09 s median of 5 alternated runs, 15.1 → 14.1
/// CPU-s, peak 1,580 → 1,620 MiB; a warm 10M-row CSV scrub 26k → 9k faults,
/// 1.0 → 0.6 s of system time. The server runs for days and gives memory back.
fn keep_freed_memory() {
    // SAFETY: sets one integer option; mimalloc reads it on its next purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_io_cause_the_message_already_shows_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let load = scrub::io::LoadError::Io { file: "/nope.csv".into(), source: io };
        let e = anyhow::Error::new(load).context("scrub run failed");
        assert_eq!(super::chain_text(&e), "scrub run failed: /nope.csv: No such file or directory (os error 2)");
        let other = anyhow::anyhow!("disk full").context("cannot write out.csv");
        assert_eq!(super::chain_text(&other), "cannot write out.csv: disk full");
    }

    #[test]
    fn purge_delay_option_index_is_mimallocs() {
        // The documented default (1000 ms) unless the environment overrides it.
        let want = std::env::var("MIMALLOC_PURGE_DELAY").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        // SAFETY: reads one option.
        assert_eq!(unsafe { super::mi_option_get(super::MI_OPTION_PURGE_DELAY) }, want);
    }
}
