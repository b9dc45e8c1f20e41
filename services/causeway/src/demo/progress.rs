//! A one-line progress bar on stderr, redrawn in place with `\r` when
//! stderr is a terminal; otherwise only the final line is printed, so logs
//! and CI output stay clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 30;
/// Redraws at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(50);

pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    live: bool,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        Self {
            label: label.into(),
            total,
            done: 0,
            live: std::io::stderr().is_terminal(),
            started: Instant::now(),
            drawn: None,
        }
    }

    pub fn advance(&mut self, by: u64) {
        self.done = (self.done + by).min(self.total);
        if self.live && self.drawn.is_none_or(|at| at.elapsed() >= REDRAW_EVERY) {
            self.draw(None);
        }
    }

    /// Replaces the bar with `message` (or a plain counter when the total
    /// is unknown) while waiting, e.g. for the assembler.
    pub fn status(&mut self, message: &str) {
        if self.live {
            self.draw(Some(message));
        }
    }

    pub fn finish(mut self, summary: &str) {
        if self.live {
            self.draw(Some(summary));
            eprintln!();
        } else {
            eprintln!("{}: {summary}", self.label);
        }
        self.live = false;
    }

    fn draw(&mut self, message: Option<&str>) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let line = match message {
            Some(message) => format!("{}: {message} ({elapsed:.1}s)", self.label),
            None => format!(
                "{} {} {}/{} ({elapsed:.1}s)",
                self.label,
                bar(self.done, self.total),
                self.done,
                self.total
            ),
        };
        let mut err = std::io::stderr().lock();
        // `\x1b[K` clears what a longer previous line left behind.
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.drawn = Some(Instant::now());
    }
}

impl Drop for Progress {
    /// An error mid-way must not leave the cursor at the end of the bar.
    fn drop(&mut self) {
        if self.live && self.drawn.is_some() {
            eprintln!();
        }
    }
}

/// `[#########.....................]`
pub fn bar(done: u64, total: u64) -> String {
    // Nothing to do counts as done.
    let filled = (done.min(total) * WIDTH as u64)
        .checked_div(total)
        .map_or(WIDTH, |filled| filled as usize);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bar_fills_in_proportion() {
        assert_eq!(bar(0, 10), format!("[{}]", ".".repeat(30)));
        assert_eq!(bar(5, 10), format!("[{}{}]", "#".repeat(15), ".".repeat(15)));
        assert_eq!(bar(12, 10), format!("[{}]", "#".repeat(30)));
        assert_eq!(bar(0, 0), format!("[{}]", "#".repeat(30)));
    }
}
