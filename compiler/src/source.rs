//! Source files by id, with line/column lookup through a line-start table.

use std::ops::Range;

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// Bytes per entry of [`SourceFile`]'s character-count table.
const CHUNK: usize = 256;

/// One source file: its display name, its text, the byte offset of every line start, and the
/// number of characters before every [`CHUNK`]-byte boundary (so that a column on a
/// multi-megabyte line costs O(CHUNK), not O(line length)).
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<usize>,
    chars_before_chunk: Vec<usize>,
}

/// Characters that start in `bytes` (every byte that is not a UTF-8 continuation byte).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

impl SourceFile {
    fn new(name: String, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        // One entry per CHUNK boundary in 0..=len, the end included: when the length is a
        // multiple of CHUNK, the end of the text is a boundary of its own.
        let mut chars_before_chunk = Vec::with_capacity(text.len() / CHUNK + 1);
        let mut n = 0;
        for chunk in text.as_bytes().chunks(CHUNK) {
            chars_before_chunk.push(n);
            n += count_chars(chunk);
        }
        if text.len().is_multiple_of(CHUNK) {
            chars_before_chunk.push(n);
        }
        SourceFile {
            name,
            text,
            line_starts,
            chars_before_chunk,
        }
    }

    /// Number of characters before byte `offset` (clamped to the text). O(CHUNK).
    fn chars_before(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        // The table has an entry for every boundary up to the end, so `chunk` is always in
        // it; the `min` only keeps a lookup total.
        let chunk = (offset / CHUNK).min(self.chars_before_chunk.len().saturating_sub(1));
        let base = self.chars_before_chunk.get(chunk).copied().unwrap_or(0);
        let from = (chunk * CHUNK).min(offset);
        base + count_chars(&self.text.as_bytes()[from..offset])
    }

    /// The name shown in diagnostics (usually the path as given on the command line).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Clamps `range` into the text and onto character boundaries, so that slicing never panics.
    pub fn clamp(&self, range: Range<usize>) -> Range<usize> {
        let len = self.text.len();
        let mut start = range.start.min(len);
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = range.end.clamp(start, len);
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        start..end
    }

    /// 1-based line and 1-based column (in characters) of byte offset `offset`.
    /// Offsets past the end map to the end of the text. O(log lines), also on very long lines.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset..offset).start;
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let col = self
            .chars_before(offset)
            .saturating_sub(self.chars_before(start));
        (line + 1, col + 1)
    }

    /// 0-based index of the line holding byte `offset` (past the end: the last line).
    pub fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        }
    }

    /// The byte range of 0-based line `line`, without its line break (`\n` or `\r\n`).
    /// Out of range: an empty range at the end of the text.
    pub fn line_range(&self, line: usize) -> Range<usize> {
        let len = self.text.len();
        let Some(&start) = self.line_starts.get(line) else {
            return len..len;
        };
        let mut end = self.line_starts.get(line + 1).map_or(len, |&n| n - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// Number of lines (a trailing newline starts an empty last line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// All files of one compilation: the user's files and the stdlib modules they import.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 2^32 source files"));
        self.files.push(SourceFile::new(name.into(), text.into()));
        id
    }

    /// The file with this id. Ids come only from [`SourceMap::add`], so a missing one is a bug.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The file with this id, or `None` for an id of another map.
    pub fn try_get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// Looks a file up by its display name.
    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }

    /// All files with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_lookup() {
        let mut map = SourceMap::new();
        let id = map.add("a.dtl", "ab\nc\u{e9}d\n\nx");
        let f = map.get(id);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(2), (1, 3));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(6), (2, 3)); // after the two-byte é
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.line_col(9), (4, 1));
        assert_eq!(f.line_col(100), (4, 2));
        assert_eq!(f.line_col(5), (2, 2)); // inside é: clamped back to its start
        assert_eq!(f.line_range(0), 0..2);
        assert_eq!(f.line_range(1), 3..7);
        assert_eq!(f.line_range(3), 9..10);
        assert_eq!(f.line_range(4), 10..10);
    }

    /// Columns on long non-ASCII lines come from the chunk table: check them against a plain
    /// character count at every offset, across chunk boundaries.
    #[test]
    fn line_col_on_long_lines() {
        let text = format!("x\r\n{}\nend", "aé✓\u{1F600}b".repeat(200));
        let mut map = SourceMap::new();
        let id = map.add("l.dtl", text.as_str());
        let f = map.get(id);
        for (i, _) in text.char_indices() {
            let line_start = text[..i].rfind('\n').map_or(0, |p| p + 1);
            let want = text[line_start..i].chars().count() + 1;
            assert_eq!(f.line_col(i).1, want, "offset {i}");
        }
        assert_eq!(f.line_range(0), 0..1);
    }

    /// The end of a text whose length is a multiple of CHUNK lies on a chunk boundary that had
    /// no entry in the table: its column counted from zero and underflowed (fuzz crash
    /// 9147d332, a 2,048-byte program with an error at its end).
    #[test]
    fn line_col_at_the_end_of_whole_chunks() {
        for text in [
            String::new(),
            "a".repeat(CHUNK),
            format!("{}\n{}", "é".repeat(CHUNK), "x".repeat(CHUNK - 1)),
            "ab\n".repeat(8 * CHUNK / 3) + "ab",
        ] {
            assert_eq!(text.len() % CHUNK, 0, "{}", text.len());
            let mut map = SourceMap::new();
            let id = map.add("e.dtl", text.as_str());
            let f = map.get(id);
            let line_start = text.rfind('\n').map_or(0, |p| p + 1);
            let want = (
                text.matches('\n').count() + 1,
                text[line_start..].chars().count() + 1,
            );
            for offset in [text.len(), text.len() + 1, usize::MAX] {
                assert_eq!(
                    f.line_col(offset),
                    want,
                    "len {} offset {offset}",
                    text.len()
                );
            }
        }
    }
}
