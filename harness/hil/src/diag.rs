//! Diagnostics for files a person wrote: a message, an optional byte span in
//! the file, and a help line saying what was expected. [`render`] turns them
//! into text that names the file, line and column and shows the line with a
//! caret underline, like compiler errors:
//!
//! ```text
//! error: unknown fault kind `wifi_dwn`
//!   --> scenarios/field/ap.toml:12:8
//!    |
//! 12 | kind = "wifi_dwn"
//!    |        ^^^^^^^^^^
//!    = help: expected one of: wifi_down, wifi_up, ...
//! ```

use std::fmt::Write as _;
use std::ops::Range;

/// How bad a diagnostic is. Errors make a file invalid; warnings are printed
/// but `hil check` still passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Byte offsets into the file's text, when the problem has a place.
    pub span: Option<Range<usize>>,
    /// What was expected instead (printed as `= help: ...`).
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Option<Range<usize>>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(message: impl Into<String>, span: Option<Range<usize>>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Adds the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `src`.
/// Offsets past the end, or inside a character, are clamped.
pub fn line_col(src: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = src[line_start..at].chars().count() + 1;
    (line, col)
}

/// Renders `diag` for the file `path` whose text is `src`.
pub fn render(path: &str, src: &str, diag: &Diagnostic) -> String {
    let mut out = String::new();
    let label = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{label}: {}", diag.message);
    match &diag.span {
        Some(span) => {
            let (line, col) = line_col(src, span.start);
            let _ = writeln!(out, "  --> {path}:{line}:{col}");
            let text = src.lines().nth(line - 1).unwrap_or("");
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{num} | {text}");
            // Underline to the span's end, or the end of the line.
            let line_chars = text.chars().count();
            let (end_line, end_col) = line_col(src, span.end);
            let end_col = if end_line == line {
                end_col
            } else {
                line_chars + 1
            };
            let width = end_col.saturating_sub(col).max(1);
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(width));
            if let Some(help) = &diag.help {
                let _ = writeln!(out, "{pad} = help: {help}");
            }
        }
        None => {
            let _ = writeln!(out, "  --> {path}");
            if let Some(help) = &diag.help {
                let _ = writeln!(out, "   = help: {help}");
            }
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_chars() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        let at = src.find('"').unwrap();
        assert_eq!(line_col(src, at), (2, 6));
        assert_eq!(line_col(src, 10_000), (3, 1));
    }

    #[test]
    fn render_points_at_the_span() {
        let src = "name = \"x\"\nkind = \"wifi_dwn\"\n";
        let start = src.find("\"wifi").unwrap();
        let d = Diagnostic::error("unknown fault kind `wifi_dwn`", Some(start..start + 10))
            .with_help("expected one of: wifi_down");
        assert_eq!(
            render("f.toml", src, &d),
            "error: unknown fault kind `wifi_dwn`\n  --> f.toml:2:8\n  |\n2 | kind = \"wifi_dwn\"\n  |        ^^^^^^^^^^\n  = help: expected one of: wifi_down\n\n"
        );
    }
}
