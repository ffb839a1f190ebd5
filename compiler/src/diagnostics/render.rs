//! The one terminal/plain renderer (ariadne) and the JSON form for editors.

use super::{Diagnostic, Severity};
use crate::source::{FileId, SourceFile, SourceMap};
use ariadne::{Color, Config, IndexType, Label as ALabel, Report, ReportKind, Source};
use std::fmt;

/// Plain text (tests, Python, pipes) or ANSI colour (a terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

/// Serves sources to ariadne by [`FileId`], building each `Source` once.
struct Cache<'a> {
    map: &'a SourceMap,
    sources: Vec<Option<Source<&'a str>>>,
}

impl<'a> ariadne::Cache<FileId> for Cache<'a> {
    type Storage = &'a str;

    fn fetch(&mut self, id: &FileId) -> Result<&Source<&'a str>, impl fmt::Debug> {
        let i = id.0 as usize;
        if self.sources.len() <= i {
            self.sources.resize_with(i + 1, || None);
        }
        let map = self.map;
        Ok::<_, ()>(self.sources[i].get_or_insert_with(|| Source::from(map.get(*id).text())))
    }

    fn display<'b>(&self, id: &'b FileId) -> Option<impl fmt::Display + 'b> {
        Some(self.map.get(*id).name().to_string())
    }
}

type ASpan = (FileId, std::ops::Range<usize>);

/// The most diagnostics [`render`] shows; one closing line counts the rest. The JSON form
/// ([`to_json`]) and the diagnostics as data are never capped.
pub const MAX_RENDERED: usize = 100;

/// Source lines longer than this many characters are shown as windows of this width around
/// the label positions, with `…` where text was cut.
pub const SNIPPET_WIDTH: usize = 120;

/// Characters of a cut line kept before a label position (the rest of the window follows it).
const SNIPPET_BEFORE: usize = 40;

/// Messages, label texts, notes and help longer than this many characters are cut (with `…`)
/// in the rendering.
pub const MAX_TEXT: usize = 400;

const ELLIPSIS: &str = "…";

/// Renders the diagnostics one after the other, at most [`MAX_RENDERED`] of them, then one
/// line `... and N more errors` for the rest. The header of each names `FILE:LINE:COL` of the
/// primary label. Output is linear in the number of diagnostics shown, whatever the line
/// lengths: long source lines are cut around the labels (see [`SNIPPET_WIDTH`]).
pub fn render(diags: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let mut cache = Cache {
        map: sources,
        sources: Vec::new(),
    };
    let mut out = String::new();
    let (shown, rest) = diags.split_at(diags.len().min(MAX_RENDERED));
    for d in shown {
        out.push_str(&render_with(d, sources, &mut cache, style));
    }
    if !rest.is_empty() {
        out.push_str(&more_line(rest));
    }
    out
}

/// `... and 3 more errors and 1 warning (...)`.
fn more_line(rest: &[Diagnostic]) -> String {
    let errors = rest
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = rest.len() - errors;
    let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
    let what = match (errors, warnings) {
        (e, 0) => n(e, "more error"),
        (0, w) => n(w, "more warning"),
        (e, w) => format!("{} and {}", n(e, "more error"), n(w, "warning")),
    };
    format!(
        "... and {what} (only the first {MAX_RENDERED} diagnostics are shown; \
         `dtlc check --format json` lists all)\n"
    )
}

/// Renders one diagnostic.
pub fn render_one(d: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    render(std::slice::from_ref(d), sources, style)
}

/// `s`, cut to [`MAX_TEXT`] characters.
fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_TEXT {
        return s.into();
    }
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}{ELLIPSIS}", &s[..i]).into(),
        None => s.into(),
    }
}

/// The diagnostic with every text cut to [`MAX_TEXT`] characters.
fn clipped(d: &Diagnostic) -> Diagnostic {
    let label = |l: &super::Label| super::Label::new(l.span.clone(), clip(&l.message));
    Diagnostic {
        code: d.code,
        severity: d.severity,
        message: clip(&d.message).into_owned(),
        primary: label(&d.primary),
        secondary: d.secondary.iter().map(label).collect(),
        notes: d.notes.iter().map(|n| clip(n).into_owned()).collect(),
        help: d.help.as_deref().map(|h| clip(h).into_owned()),
    }
}

/// Whether 0-based line `line` of `f` is longer than [`SNIPPET_WIDTH`] characters.
fn is_long(f: &SourceFile, line: usize) -> bool {
    let r = f.line_range(line);
    r.len() > SNIPPET_WIDTH
        && (r.len() > 4 * SNIPPET_WIDTH || f.text()[r].chars().count() > SNIPPET_WIDTH)
}

fn render_with(d: &Diagnostic, sources: &SourceMap, cache: &mut Cache<'_>, style: Style) -> String {
    let d = &clipped(d);
    let labels = std::iter::once(&d.primary).chain(&d.secondary);
    let long = labels.clone().any(|l| {
        let f = sources.get(l.span.file);
        let r = f.clamp(l.span.range.clone());
        is_long(f, f.line_index(r.start)) || is_long(f, f.line_index(r.end))
    });
    let text = if long {
        render_excerpt(d, sources, style)
    } else {
        let span =
            |s: &super::Span| -> ASpan { (s.file, sources.get(s.file).clamp(s.range.clone())) };
        let spans: Vec<ASpan> = labels.map(|l| span(&l.span)).collect();
        write_report(d, &spans, &d.notes, cache, style).map(|t| fix_headers(t, d, sources))
    };
    text.unwrap_or_else(|| {
        // ariadne could not render (it never should); fall back to one plain line.
        let f = sources.get(d.primary.span.file);
        let (line, col) = f.line_col(d.primary.span.range.start);
        format!(
            "[{}] Error: {}\n  at {}:{}:{}: {}\n",
            d.code.as_str(),
            d.message,
            f.name(),
            line,
            col,
            d.primary.message
        )
    })
}

/// Renders `d` with ariadne, its labels (primary first) at `spans` in `cache`'s sources.
fn write_report<C: ariadne::Cache<FileId>>(
    d: &Diagnostic,
    spans: &[ASpan],
    notes: &[String],
    cache: C,
    style: Style,
) -> Option<String> {
    let color = style == Style::Color;
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let primary = spans.first()?.clone();
    let mut b = Report::build(kind, primary)
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_code(d.code.as_str())
        .with_message(&d.message);
    let labels = std::iter::once(&d.primary).chain(&d.secondary);
    for (i, (l, s)) in labels.zip(spans).enumerate() {
        let mut al = ALabel::new(s.clone()).with_message(&l.message);
        if color {
            al = al.with_color(if i == 0 { Color::Red } else { Color::Blue });
        }
        b.add_label(al);
    }
    for n in notes {
        b.add_note(n);
    }
    if let Some(h) = &d.help {
        b.add_help(h);
    }
    let mut buf = Vec::new();
    let ok = b.finish().write(cache, &mut buf).is_ok();
    let text = String::from_utf8_lossy(&buf).into_owned();
    (ok && !text.is_empty()).then_some(text)
}

/// Puts the real `FILE:LINE:COL` into the header of each file's section (ariadne writes the
/// column of its excerpt, and for files after the first counts bytes as characters).
fn fix_headers(mut text: String, d: &Diagnostic, sources: &SourceMap) -> String {
    let mut seen: Vec<FileId> = Vec::new();
    let mut from = 0;
    for l in std::iter::once(&d.primary).chain(&d.secondary) {
        if seen.contains(&l.span.file) {
            continue;
        }
        seen.push(l.span.file);
        let f = sources.get(l.span.file);
        let (line, col) = f.line_col(l.span.range.start);
        let key = format!(" {}:{line}:", f.name());
        // The header reads `[ FILE:LINE:COL ]`, the `[` maybe coloured.
        let Some(p) = text[from..]
            .match_indices(&key)
            .map(|(p, _)| from + p)
            .find(|&p| text[..p].ends_with('[') || text[..p].ends_with("[\u{1b}[0m"))
        else {
            continue;
        };
        let digits = p + key.len();
        let end = digits
            + text[digits..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
        text.replace_range(digits..end, &col.to_string());
        from = digits;
    }
    text
}

/// Excerpts of files for one diagnostic: only the labelled lines, long ones cut.
struct Excerpts<'a> {
    map: &'a SourceMap,
    sources: Vec<(FileId, Source<String>)>,
}

impl ariadne::Cache<FileId> for Excerpts<'_> {
    type Storage = String;

    fn fetch(&mut self, id: &FileId) -> Result<&Source<String>, impl fmt::Debug> {
        self.sources
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, s)| s)
            .ok_or(())
    }

    fn display<'b>(&self, id: &'b FileId) -> Option<impl fmt::Display + 'b> {
        Some(self.map.get(*id).name().to_string())
    }
}

/// One file's excerpt: its lines up to the last labelled one, unlabelled ones empty (ariadne
/// 0.6 numbers the margin from the start of the text it is given; `with_display_line_offset`
/// only moves the header), and per labelled line the windows of the file shown:
/// `(lo, hi, offset of lo in the excerpt)`.
struct Excerpt {
    text: String,
    windows: std::collections::HashMap<usize, Vec<(usize, usize, usize)>>,
}

impl Excerpt {
    /// The excerpt offset of file offset `q` on 0-based `line` (a labelled line).
    fn map(&self, f: &SourceFile, line: usize, q: usize) -> usize {
        let q = q.min(f.line_range(line).end);
        let ws = self.windows.get(&line).map_or(&[][..], |w| w.as_slice());
        ws.iter()
            .find(|(lo, hi, _)| *lo <= q && q <= *hi)
            .map_or(0, |(lo, _, at)| at + (q - lo))
    }
}

/// The byte offset `n` characters before `from`, not before `min`.
fn back(text: &str, from: usize, min: usize, n: usize) -> usize {
    text[min..from]
        .char_indices()
        .rev()
        .take(n)
        .last()
        .map_or(from, |(i, _)| min + i)
}

/// The byte offset `n` characters after `from`, not after `max`.
fn fwd(text: &str, from: usize, max: usize, n: usize) -> usize {
    text[from..max]
        .char_indices()
        .nth(n)
        .map_or(max, |(i, _)| from + i)
}

/// The excerpt of `f` showing `points` (label ends as byte offsets, by 0-based line): a long
/// line becomes windows of [`SNIPPET_WIDTH`] characters around its points (overlapping ones
/// merged), with `…` for the text left out.
fn excerpt(f: &SourceFile, points: &std::collections::BTreeMap<usize, Vec<usize>>) -> Excerpt {
    let last = points.keys().next_back().copied().unwrap_or(0);
    let src = f.text();
    let mut ex = Excerpt {
        text: String::new(),
        windows: Default::default(),
    };
    for line in 0..=last {
        if let Some(ps) = points.get(&line) {
            let lr = f.line_range(line);
            let mut ws: Vec<(usize, usize)> = Vec::new();
            if is_long(f, line) {
                let mut ps: Vec<usize> = ps.iter().map(|&q| q.clamp(lr.start, lr.end)).collect();
                ps.sort_unstable();
                for q in ps {
                    let lo = back(src, q, lr.start, SNIPPET_BEFORE);
                    let hi = fwd(src, q, lr.end, SNIPPET_WIDTH - SNIPPET_BEFORE);
                    match ws.last_mut() {
                        Some(w) if lo <= w.1 => w.1 = w.1.max(hi),
                        _ => ws.push((lo, hi)),
                    }
                }
            } else {
                ws.push((lr.start, lr.end));
            }
            let mut placed = Vec::with_capacity(ws.len());
            let mut prev = lr.start;
            for (lo, hi) in ws {
                if lo > prev {
                    ex.text.push_str(ELLIPSIS);
                }
                placed.push((lo, hi, ex.text.len()));
                ex.text.push_str(&src[lo..hi]);
                prev = hi;
            }
            if prev < lr.end {
                ex.text.push_str(ELLIPSIS);
            }
            ex.windows.insert(line, placed);
        }
        ex.text.push('\n');
    }
    ex
}

/// Renders `d` over excerpts of its files (see [`excerpt`]); the `FILE:LINE:COL` headers keep
/// the real columns.
fn render_excerpt(d: &Diagnostic, sources: &SourceMap, style: Style) -> Option<String> {
    use std::collections::BTreeMap;
    // Per label, primary first: file, start line and offset, end line and offset.
    let labels: Vec<(FileId, usize, usize, usize, usize)> = std::iter::once(&d.primary)
        .chain(&d.secondary)
        .map(|l| {
            let f = sources.get(l.span.file);
            let r = f.clamp(l.span.range.clone());
            let (ls, le) = (f.line_index(r.start), f.line_index(r.end));
            (l.span.file, ls, r.start, le, r.end)
        })
        .collect();
    let mut files: Vec<FileId> = Vec::new();
    for l in &labels {
        if !files.contains(&l.0) {
            files.push(l.0);
        }
    }
    let mut cache = Excerpts {
        map: sources,
        sources: Vec::new(),
    };
    let mut excerpts = Vec::new();
    for &file in &files {
        let mut points: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &(_, ls, s, le, e) in labels.iter().filter(|l| l.0 == file) {
            points.entry(ls).or_default().push(s);
            points.entry(le).or_default().push(e);
        }
        let ex = excerpt(sources.get(file), &points);
        cache.sources.push((file, Source::from(ex.text.clone())));
        excerpts.push(ex);
    }
    let ex_of = |file: FileId| files.iter().position(|f| *f == file).map(|i| &excerpts[i]);
    let mut spans: Vec<ASpan> = Vec::new();
    for &(file, ls, s, le, e) in &labels {
        let (f, ex) = (sources.get(file), ex_of(file)?);
        let a = ex.map(f, ls, s);
        spans.push((file, a..ex.map(f, le, e).max(a)));
    }
    let text = write_report(d, &spans, &d.notes, &mut cache, style)?;
    Some(fix_headers(text, d, sources))
}

/// The diagnostics as JSON for editors: one object per diagnostic, positions 1-based
/// (columns in characters), byte offsets alongside.
pub fn to_json(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let label = |l: &super::Label, primary: bool| {
        let f = sources.get(l.span.file);
        let (line, column) = f.line_col(l.span.range.start);
        let (end_line, end_column) = f.line_col(l.span.range.end);
        serde_json::json!({
            "file": f.name(),
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "start_byte": l.span.range.start,
            "end_byte": l.span.range.end,
            "message": l.message,
            "primary": primary,
        })
    };
    serde_json::Value::Array(
        diags
            .iter()
            .map(|d| {
                let p = label(&d.primary, true);
                let mut labels = vec![p.clone()];
                labels.extend(d.secondary.iter().map(|l| label(l, false)));
                serde_json::json!({
                    "code": d.code.as_str(),
                    "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                    "message": d.message,
                    "file": p["file"],
                    "line": p["line"],
                    "column": p["column"],
                    "labels": labels,
                    "notes": d.notes,
                    "help": d.help,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
