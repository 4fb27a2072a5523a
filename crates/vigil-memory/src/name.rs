//! Model-given paths turned into checked components before any file is touched: relative only,
//! no `.` or `..` (nor anything that folds to them), no control characters, no Windows device
//! names or reserved characters, NFC-normalised.
//!
//! This is a first line only: the file system calls in `fsops` are what keep every operation
//! under the root (one directory handle, `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`),
//! whatever a name says.

use crate::error::MemoryError;
use unicode_normalization::UnicodeNormalization;

/// The longest component, in bytes (most file systems' limit).
pub const MAX_NAME: usize = 255;

/// The longest path, in bytes.
pub const MAX_PATH: usize = 1024;

/// A checked relative path: non-empty NFC components, none of them special.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath {
    parts: Vec<String>,
}

impl RelPath {
    /// The root itself (for `memory_list` and `memory_search` without a directory).
    pub fn root() -> RelPath {
        RelPath { parts: Vec::new() }
    }

    /// Its components.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Whether it is the root.
    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    /// The last component (the file's own name); `None` for the root.
    pub fn name(&self) -> Option<&str> {
        self.parts.last().map(String::as_str)
    }

    /// The directory holding it.
    pub fn parent(&self) -> RelPath {
        let mut parts = self.parts.clone();
        parts.pop();
        RelPath { parts }
    }

    /// This path with one more component.
    pub fn join(&self, name: &str) -> RelPath {
        let mut parts = self.parts.clone();
        parts.push(name.to_owned());
        RelPath { parts }
    }

    /// Number of components.
    pub fn depth(&self) -> usize {
        self.parts.len()
    }

    /// `a/b/c`.
    pub fn as_string(&self) -> String {
        self.parts.join("/")
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// Parses a file path (at least one component).
pub fn file_path(raw: &str) -> Result<RelPath, MemoryError> {
    let p = parse(raw)?;
    if p.is_root() {
        return Err(MemoryError::InvalidName {
            path: raw.into(),
            reason: "empty path".into(),
        });
    }
    Ok(p)
}

/// Parses a directory path; `""`, `"."` and `"/"`-free empty mean the root.
pub fn dir_path(raw: &str) -> Result<RelPath, MemoryError> {
    if raw.is_empty() || raw == "." || raw == "./" {
        return Ok(RelPath::root());
    }
    parse(raw.strip_suffix('/').unwrap_or(raw))
}

fn outside(raw: &str, reason: &str) -> MemoryError {
    MemoryError::OutsideRoot {
        path: shown(raw),
        reason: reason.into(),
    }
}

fn invalid(raw: &str, reason: impl Into<String>) -> MemoryError {
    MemoryError::InvalidName {
        path: shown(raw),
        reason: reason.into(),
    }
}

/// A path as errors show it: control characters escaped, at most 200 characters.
pub fn shown(raw: &str) -> String {
    let mut s: String = raw.chars().take(200).flat_map(char::escape_debug).collect();
    if raw.chars().count() > 200 {
        s.push('…');
    }
    s
}

fn parse(raw: &str) -> Result<RelPath, MemoryError> {
    if raw.len() > MAX_PATH {
        return Err(invalid(raw, format!("longer than {MAX_PATH} bytes")));
    }
    if raw.contains('\0') {
        return Err(invalid(raw, "NUL character"));
    }
    if raw.starts_with('/') || raw.starts_with('\\') || raw.starts_with('~') {
        return Err(outside(raw, "absolute path"));
    }
    if raw.len() >= 2 && raw.as_bytes()[1] == b':' && raw.as_bytes()[0].is_ascii_alphabetic() {
        return Err(outside(raw, "drive-letter path"));
    }
    let lower = raw.to_ascii_lowercase();
    for enc in ["%2e", "%2f", "%5c", "%00", "%c0", "%c1", "%e0%80", "%25"] {
        if lower.contains(enc) {
            return Err(outside(raw, "percent-encoded path characters"));
        }
    }
    let nfc: String = raw.nfc().collect();
    let mut parts = Vec::new();
    for comp in nfc.split('/') {
        check_component(raw, comp)?;
        parts.push(comp.to_owned());
    }
    Ok(RelPath { parts })
}

/// Windows device names, refused with or without an extension, in any case.
const DEVICES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$", "COM0", "COM1", "COM2", "COM3",
    "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

fn check_component(raw: &str, comp: &str) -> Result<(), MemoryError> {
    if comp.is_empty() {
        return Err(invalid(
            raw,
            "empty path component (`//` or a trailing `/`)",
        ));
    }
    if comp == "." || comp == ".." {
        return Err(outside(raw, "`.` or `..` component"));
    }
    // What the name becomes under compatibility folding: fullwidth dots and slashes, one-dot
    // leaders and the like must not be able to mean `..` or `/` to anything downstream.
    let folded: String = comp.nfkc().collect();
    let slash_like = |c: char| {
        matches!(
            c,
            '/' | '\\' | '\u{2215}' | '\u{2044}' | '\u{29F5}' | '\u{29F8}' | '\u{29F9}'
        )
    };
    if folded == "." || folded == ".." || folded.contains(slash_like) {
        return Err(outside(
            raw,
            "a character that folds to `.`, `..` or a separator",
        ));
    }
    if comp.len() > MAX_NAME {
        return Err(invalid(
            raw,
            format!("a component longer than {MAX_NAME} bytes"),
        ));
    }
    if let Some((c, why)) = comp.chars().find_map(|c| refused_char(c).map(|w| (c, w))) {
        return Err(invalid(raw, format!("{why} U+{:04X}", c as u32)));
    }
    if let Some(c) = comp.chars().find(|c| "<>:\"|?*\\".contains(*c)) {
        return Err(invalid(
            raw,
            format!("character `{c}` (reserved on Windows)"),
        ));
    }
    if comp.ends_with('.') || comp.ends_with(' ') {
        return Err(invalid(raw, "a name ending in `.` or a space"));
    }
    let stem = comp.split('.').next().unwrap_or(comp).trim_end();
    if DEVICES.iter().any(|d| d.eq_ignore_ascii_case(stem)) {
        return Err(invalid(raw, format!("`{stem}` is a Windows device name")));
    }
    Ok(())
}

/// Why `c` is refused in a path component, a principal or a token's `sub`, or `None` when it
/// may appear: the one check for every name a person reads. Refused: control characters (Cc),
/// every invisible formatting character (Cf: bidi marks, soft hyphen, zero-width, tags, …),
/// line and paragraph separators (Zl, Zp), spaces other than U+0020 (Zs), private-use and
/// unassigned code points (Co, Cn, which holds the non-characters), and the invisible letters
/// and marks that render as nothing (Hangul fillers, combining grapheme joiner, variation
/// selectors, Mongolian free variation selectors, Khmer inherent vowels, Braille blank, the
/// Khitan small script filler).
pub fn refused_char(c: char) -> Option<&'static str> {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if matches!(
        c as u32,
        0x034F
            | 0x115F
            | 0x1160
            | 0x17B4
            | 0x17B5
            | 0x180B..=0x180F
            | 0x2800
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFFA0
            | 0x16FE4
            | 0xE0100..=0xE01EF
    ) {
        return Some("invisible filler or ignorable character");
    }
    match get_general_category(c) {
        G::Control => Some("control character"),
        G::Format => Some("invisible formatting character"),
        G::LineSeparator | G::ParagraphSeparator => Some("line or paragraph separator"),
        G::SpaceSeparator if c != ' ' => Some("space other than U+0020"),
        G::PrivateUse | G::Surrogate => Some("private-use character"),
        G::Unassigned => Some("unassigned or non-character code point"),
        _ => None,
    }
}

/// The key two names collide on: compatibility-folded and case-folded in full (`Alice.md`,
/// `ALICE.md` and `ａｌｉｃｅ.md` are one name to a case-insensitive or folding file system, as
/// are `Σ.md`/`ς.md`, `straße.md`/`strasse.md`, `İ.md`/`i.md`/`ı.md`). Folding goes through the
/// upper case first, so every letter whose upper case is shared (ß → SS, ſ → S, ı → I) meets
/// its twin, then the lower case; final sigma and the dot of `İ` are folded away.
pub fn collision_key(name: &str) -> String {
    if name.is_ascii() {
        // Compatibility folding leaves ASCII as it is.
        return name.to_ascii_lowercase();
    }
    let folded: String = name.nfkc().collect();
    let lower = folded
        .to_uppercase()
        .to_lowercase()
        .replace('\u{3C2}', "\u{3C3}")
        .replace("i\u{307}", "i");
    lower.nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        match file_path(raw) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn plain_paths_pass_and_are_nfc() {
        assert_eq!(
            file_path("notes/alice.md").unwrap().parts(),
            ["notes", "alice.md"]
        );
        let nfd = "cafe\u{301}.md";
        assert_eq!(file_path(nfd).unwrap().as_string(), "caf\u{e9}.md");
        assert_eq!(code(".hidden"), "ok");
        assert_eq!(code("a..b"), "ok");
        assert!(dir_path("").unwrap().is_root());
        assert_eq!(dir_path("notes/").unwrap().as_string(), "notes");
    }

    #[test]
    fn escapes_are_outside_root() {
        for p in [
            "..",
            "../x",
            "a/../../x",
            "a/..",
            "./x",
            "/etc/passwd",
            "\\x",
            "C:x",
            "~/x",
            "%2e%2e/x",
            "..%2fx",
            "%2E%2E%2Fx",
            "..%5cx",
            "%252e%252e/x",
            "\u{FF0E}\u{FF0E}/x",
            "a/\u{FF0E}\u{FF0E}/b",
            "\u{2024}\u{2024}/x",
            "a\u{FF0F}b",
            "a\u{2215}b",
        ] {
            let c = code(p);
            assert!(c == "outside_root", "{p:?} gave {c}");
        }
    }

    #[test]
    fn bad_names_are_invalid() {
        for p in [
            "a\0b",
            "a\nb",
            "a\u{1b}b",
            "a\u{7f}",
            "a\u{85}",
            "CON",
            "con.txt",
            "Nul",
            "COM1.md",
            "lpt9",
            "a/aux.log/b",
            "ab:c",
            "a|b",
            "a?",
            "dot.",
            "space ",
            "",
            "a//b",
            "a/",
            "x\u{202E}gpj.md",
            "zero\u{200B}width",
        ] {
            let c = code(p);
            assert!(c == "invalid_name", "{p:?} gave {c}");
        }
        assert_eq!(code(&"a".repeat(256)), "invalid_name");
        assert_eq!(code(&"a/".repeat(600)), "invalid_name");
    }

    #[test]
    fn collision_keys_fold_case_and_width() {
        assert_eq!(collision_key("Alice.md"), collision_key("ALICE.MD"));
        assert_eq!(collision_key("alice.md"), collision_key("\u{FF41}lice.md"));
        assert_ne!(collision_key("alice.md"), collision_key("alicia.md"));
        for (a, b) in [
            ("\u{3A3}.md", "\u{3C2}.md"),
            ("stra\u{DF}e.md", "strasse.md"),
            ("\u{130}.md", "i.md"),
            ("\u{131}.md", "i.md"),
            ("\u{212A}.md", "k.md"),
        ] {
            assert_eq!(collision_key(a), collision_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn invisible_and_format_characters_are_refused_in_names() {
        for c in [
            '\u{AD}',
            '\u{61C}',
            '\u{180E}',
            '\u{3164}',
            '\u{115F}',
            '\u{16FE4}',
            '\u{2028}',
            '\u{2029}',
            '\u{206A}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{34F}',
            '\u{A0}',
            '\u{FDD0}',
            '\u{FFFF}',
            '\u{E000}',
            '\u{200E}',
        ] {
            assert!(refused_char(c).is_some(), "U+{:04X}", c as u32);
            assert_eq!(
                code(&format!("a{c}b.md")),
                "invalid_name",
                "U+{:04X}",
                c as u32
            );
        }
        for c in ['a', ' ', '\u{E9}', '\u{4E2D}', '\u{301}'] {
            assert!(refused_char(c).is_none(), "U+{:04X}", c as u32);
        }
    }
}
