//! Configuration problems located to file, line and column, the way compilers report them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One thing wrong in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is about the file as a whole (missing, unreadable).
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl Problem {
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    /// A problem at a byte span of `text` (the file's content). An empty span at 0 is a default value
    /// that was not written in the file, so it is reported against the whole file.
    pub fn at_span(
        file: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let position = (span != (0..0)).then(|| line_and_column(text, span.start));
        Problem {
            file: file.to_owned(),
            position,
            message: message.into(),
        }
    }

    pub fn from_toml(file: &Path, text: &str, err: &toml::de::Error) -> Self {
        let span = err.span().unwrap_or(0..0);
        Problem::at_span(file, text, span, err.message().trim_end())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found in one load; loading goes on after the first so that an admin fixes all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 10), (2, 4));
    }
}
