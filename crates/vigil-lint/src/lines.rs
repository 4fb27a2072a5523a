//! Byte offsets to 1-based lines and columns (columns count bytes, as SARIF's default and
//! vigil-report's regions do).

/// The start of every line of a text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// `(line, column)` of a byte offset, both 1-based.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }

    /// The byte offset of a 1-based line and a 1-based column counted in bytes.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .map_or(self.len, |s| (s + column.saturating_sub(1)).min(self.len))
    }

    /// The byte offset of a 1-based line and a 1-based column counted in characters.
    pub fn offset_of_char(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.len;
        };
        let rest = &text[start..];
        rest.char_indices()
            .nth(column.saturating_sub(1))
            .map_or(self.len, |(i, _)| start + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let t = "ab\ncd\n\nx";
        let l = LineIndex::new(t);
        assert_eq!(l.position(0), (1, 1));
        assert_eq!(l.position(2), (1, 3));
        assert_eq!(l.position(3), (2, 1));
        assert_eq!(l.position(6), (3, 1));
        assert_eq!(l.position(7), (4, 1));
        assert_eq!(l.offset_of_char(t, 2, 2), 4);
        let u = "é: x\n";
        assert_eq!(LineIndex::new(u).offset_of_char(u, 1, 2), 2);
    }
}
