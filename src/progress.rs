//! What long commands show on a terminal: a spinner naming the stage while
//! there is nothing to count, and a bar of rows (or a CSV's bytes) once
//! there is. Callers
//! decide whether to show anything (a terminal, no `--quiet`); the styles
//! live here so `run`, `gen` and `index build` look alike.

use std::borrow::Cow;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressState, ProgressStyle};

/// A spinner with the elapsed time and a message naming the stage
/// ([`ProgressBar::set_message`]); it ticks by itself.
pub fn stage_spinner() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}…").expect("a valid template"));
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// A bar of `total` rows, `{msg}` before it (a file name, or nothing), with
/// the rate as whole rows a second (indicatif's `{per_sec}` shows four
/// decimals).
pub fn rows_bar(total: u64) -> ProgressBar {
    let rate = |st: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{}", HumanCount(st.per_sec() as u64));
    };
    let style = "{spinner} {elapsed_precise} {msg}[{bar:40}] {human_pos}/{human_len} rows ({rate} rows/s, eta {eta})";
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(style).expect("a valid template").with_key("rate", rate).progress_chars("=> "),
    );
    pb
}

/// A bar of `total` bytes: a CSV's size is known up front, its rows are not.
pub fn bytes_bar(total: u64) -> ProgressBar {
    let style = "{spinner} {elapsed_precise} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})";
    let pb = ProgressBar::new(total);
    pb.set_style(ProgressStyle::with_template(style).expect("a valid template").progress_chars("=> "));
    pb
}

/// Names the stage on `bar`, when there is one.
pub fn say(bar: Option<&ProgressBar>, what: impl Into<Cow<'static, str>>) {
    if let Some(b) = bar {
        b.set_message(what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The templates parse and a hidden bar takes every update (a bad
    /// template would only panic on a user's terminal).
    #[test]
    fn styles_build_and_count() {
        let b = rows_bar(10);
        b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        b.set_message("contacts.parquet ");
        b.inc(4);
        assert_eq!(b.position(), 4);
        assert_eq!(b.length(), Some(10));
        let s = stage_spinner();
        s.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        say(Some(&s), "loading rules");
        assert_eq!(s.message(), "loading rules");
        say(None, "nowhere");
        s.finish_and_clear();
        let c = bytes_bar(1 << 20);
        c.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        c.inc(4096);
        assert_eq!((c.position(), c.length()), (4096, Some(1 << 20)));
    }
}
