//! Byte offsets to 1-based lines and columns. Reported columns count UTF-16 code units (SARIF
//! 2.1.0's default `columnKind`, and what editors such as VS Code count), so a region is right
//! on lines with non-ASCII text; `vigil scan`'s byte columns are read back with [`LineIndex::offset`].

/// The start of every line of a text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Line starts as editors see them: after `\n`, `\r\n` or a lone `\r` (old Mac files; YAML
    /// counts lines the same way).
    starts: Vec<usize>,
    /// Line starts after `\n` only (how `vigil scan` numbers lines), kept only when the text has
    /// a lone `\r` and so differs from `starts`.
    lf_starts: Option<Vec<usize>>,
    len: usize,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'));
        if !lone_cr {
            return LineIndex {
                starts,
                lf_starts: None,
                len: text.len(),
            };
        }
        let mut display = Vec::with_capacity(starts.len() * 2);
        display.push(0);
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n') {
                display.push(i + 1);
            }
        }
        LineIndex {
            starts: display,
            lf_starts: Some(starts),
            len: text.len(),
        }
    }

    /// `(line, column)` of a byte offset, both 1-based.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }

    /// `(line, column)` of a byte offset in `text`, the column counted in UTF-16 code units,
    /// both 1-based.
    pub fn position_utf16(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.len).min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].encode_utf16().count() + 1)
    }

    /// [`LineIndex::position_utf16`] of many offsets at once, in the order given: each column
    /// is counted on from the previous offset on the same line, so many offsets on one long
    /// line (a minified file) cost one pass over it, not one each.
    pub fn positions_utf16(&self, text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_unstable_by_key(|&i| offsets[i]);
        let mut out = vec![(0, 0); offsets.len()];
        // (line, offset, column) of the last offset placed.
        let mut last: Option<(usize, usize, usize)> = None;
        for i in order {
            let mut offset = offsets[i].min(self.len).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            let line = self.starts.partition_point(|&s| s <= offset);
            let column = match last {
                Some((l, o, c)) if l == line && o <= offset => {
                    c + text[o..offset].encode_utf16().count()
                }
                _ => text[self.starts[line - 1]..offset].encode_utf16().count() + 1,
            };
            last = Some((line, offset, column));
            out[i] = (line, column);
        }
        out
    }

    /// The byte offset of a 1-based line and a 1-based column counted in bytes, lines counted
    /// after `\n` only, as `vigil scan` reports them.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        self.lf_starts
            .as_ref()
            .unwrap_or(&self.starts)
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
        // `😀日本` is 2 + 1 + 1 UTF-16 units (10 bytes): the value after it is at column 5.
        let w = "😀日本x";
        assert_eq!(LineIndex::new(w).position_utf16(w, 10), (1, 5));
        assert_eq!(LineIndex::new(w).position(10), (1, 11));
        // Many at once, in any order, mid-character offsets included: the same columns.
        let t = "😀日本x\nab😀c";
        let many = [10, 0, 4, 10, 7, 13, 12, 17, t.len(), 2];
        let one: Vec<_> = many
            .iter()
            .map(|o| LineIndex::new(t).position_utf16(t, *o))
            .collect();
        assert_eq!(LineIndex::new(t).positions_utf16(t, &many), one);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line_as_editors_show_it() {
        let t = "{\r \"a\": 1,\r\n \"b\": 2\r}";
        let l = LineIndex::new(t);
        assert_eq!(l.position(3), (2, 2));
        assert_eq!(l.position(t.find("\"b\"").unwrap()), (3, 2));
        assert_eq!(l.position(t.len() - 1), (4, 1));
        // `vigil scan`'s positions count `\n` only.
        assert_eq!(l.offset(2, 2), t.find("\"b\"").unwrap());
        let crlf = LineIndex::new("a\r\nb");
        assert_eq!(crlf.position(3), (2, 1));
    }
}
