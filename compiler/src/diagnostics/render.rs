//! The one terminal/plain renderer (ariadne) and the JSON form for editors.

use super::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap};
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

/// Renders every diagnostic, one after the other. The header of each names `FILE:LINE:COL` of
/// the primary label.
pub fn render(diags: &[Diagnostic], sources: &SourceMap, style: Style) -> String {
    let mut cache = Cache {
        map: sources,
        sources: Vec::new(),
    };
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_with(d, sources, &mut cache, style));
    }
    out
}

/// Renders one diagnostic.
pub fn render_one(d: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    render(std::slice::from_ref(d), sources, style)
}

fn render_with(d: &Diagnostic, sources: &SourceMap, cache: &mut Cache<'_>, style: Style) -> String {
    let color = style == Style::Color;
    let span = |s: &super::Span| -> ASpan { (s.file, sources.get(s.file).clamp(s.range.clone())) };
    let primary = span(&d.primary.span);
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let mut b = Report::build(kind, primary.clone())
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_code(d.code.as_str())
        .with_message(&d.message);
    let mut first = ALabel::new(primary).with_message(&d.primary.message);
    if color {
        first = first.with_color(Color::Red);
    }
    b.add_label(first);
    for l in &d.secondary {
        let mut al = ALabel::new(span(&l.span)).with_message(&l.message);
        if color {
            al = al.with_color(Color::Blue);
        }
        b.add_label(al);
    }
    for n in &d.notes {
        b.add_note(n);
    }
    if let Some(h) = &d.help {
        b.add_help(h);
    }
    let mut buf = Vec::new();
    let ok = b.finish().write(&mut *cache, &mut buf).is_ok();
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if !ok || text.is_empty() {
        // ariadne could not render (it never should); fall back to one plain line.
        let f = sources.get(d.primary.span.file);
        let (line, col) = f.line_col(d.primary.span.range.start);
        text = format!(
            "[{}] Error: {}\n  at {}:{}:{}: {}\n",
            d.code.as_str(),
            d.message,
            f.name(),
            line,
            col,
            d.primary.message
        );
    }
    text
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
