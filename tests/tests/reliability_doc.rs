//! `docs/reliability.md` is assembled from `docs/reliability/*.md` (one fragment per area of
//! the adversarial sweep of issue #13). This test keeps it true:
//!
//! - it regenerates the page (a summary table built from each fragment's counts line, then the
//!   fragments) and fails when the committed page was stale;
//! - every test a fragment names exists: each backticked path (`tests/cases/run/x.dtl`, or a
//!   unique tail of one such as `run-errors/x.dtl` or `faults.sh`) names a file of the
//!   repository, `file.rs::name` (or `file.rs` `name`) names a function in it, a backticked
//!   `test_*` name is a Python test of `pydtl/tests`, and a quoted check name after a shell
//!   script (`faults.sh "endless recursion"`) occurs in that script.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dtl_tests::root;

/// The areas in the order the page lists them; a fragment not named here comes after them.
const ORDER: &[&str] = &["sync", "frontend", "faults", "comm", "signals"];

/// Extensions of the files a fragment may cite as tests or sources.
const CITED: &[&str] = &["dtl", "rs", "sh", "py", "expected", "toml"];

fn repo() -> PathBuf {
    root().join("..")
}

struct Counts {
    tried: u64,
    found: u64,
    fixed: u64,
    open: u64,
}

struct Fragment {
    name: String,
    title: String,
    text: String,
    counts: Counts,
}

/// `<!-- counts: tried=N found=N fixed=N open=N -->`
fn parse_counts(name: &str, text: &str) -> Result<Counts, String> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("<!-- counts:"))
        .ok_or_else(|| {
            format!("{name}: no `<!-- counts: tried=N found=N fixed=N open=N -->` line")
        })?;
    let mut map = BTreeMap::new();
    for part in line
        .trim()
        .trim_start_matches("<!-- counts:")
        .trim_end_matches("-->")
        .split_whitespace()
    {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{name}: bad counts item `{part}`"))?;
        let v: u64 = v
            .parse()
            .map_err(|_| format!("{name}: `{part}` is not a count"))?;
        map.insert(k.to_string(), v);
    }
    let get = |k: &str| {
        map.get(k)
            .copied()
            .ok_or_else(|| format!("{name}: counts line lacks `{k}=`"))
    };
    let c = Counts {
        tried: get("tried")?,
        found: get("found")?,
        fixed: get("fixed")?,
        open: get("open")?,
    };
    if c.fixed > c.found || c.found > c.tried {
        return Err(format!(
            "{name}: counts must satisfy fixed <= found <= tried"
        ));
    }
    Ok(c)
}

/// Shifts the fragment's headings so that its first one is `##`.
fn demote(text: &str) -> (String, String) {
    let level = |l: &str| l.chars().take_while(|c| *c == '#').count();
    let first = text.lines().find(|l| l.starts_with('#'));
    let shift = first.map_or(0, |l| 2usize.saturating_sub(level(l)));
    let title = first
        .map(|l| l.trim_start_matches('#').trim().to_string())
        .unwrap_or_default();
    let mut out = String::new();
    let mut fence = false;
    for l in text.lines() {
        if l.starts_with("```") {
            fence = !fence;
        }
        if !fence && l.starts_with('#') && level(l) > 0 {
            out.push_str(&"#".repeat(shift));
        }
        out.push_str(l);
        out.push('\n');
    }
    (out, title)
}

fn fragments() -> Vec<Fragment> {
    let dir = repo().join("docs/reliability");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "md" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .filter(|n| n != "README")
        .collect();
    names.sort_by_key(|n| {
        (
            ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()),
            n.clone(),
        )
    });
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for name in names {
        let raw = std::fs::read_to_string(dir.join(format!("{name}.md"))).unwrap();
        match parse_counts(&name, &raw) {
            Ok(counts) => {
                let (text, title) = demote(&raw);
                out.push(Fragment {
                    name,
                    title,
                    text,
                    counts,
                });
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    out
}

fn assemble(frags: &[Fragment]) -> String {
    let mut s = String::from(
        "<!-- assembled from docs/reliability/*.md by tests/tests/reliability_doc.rs; edit the fragments -->\n\
         # Reliability: the adversarial sweep\n\n\
         Issue #13 asked for no silent wrong answers, a watchdog and diagnostics that never\n\
         misfire, and an adversarial sweep: malformed programs, run-time faults, MPI faults and\n\
         Python misuse, each failure fixed with a test. This page lists what was tried, what it\n\
         did before, the fix, and the test that covers it, one section per area. The test command\n\
         keeps it true: `cargo test -p dtl-tests --test reliability_doc` rebuilds this page from\n\
         its fragments in `docs/reliability/` and fails when a test it names does not exist;\n\
         process-level checks live in `scripts/tests/reliability/*.sh`, which `scripts/test-all`\n\
         runs.\n\n\
         | area | tried | failures found | fixed | still open |\n|---|---|---|---|---|\n",
    );
    let (mut t, mut f, mut x, mut o) = (0, 0, 0, 0);
    for fr in frags {
        let c = &fr.counts;
        s.push_str(&format!(
            "| [{}](reliability/{}.md) | {} | {} | {} | {} |\n",
            fr.title, fr.name, c.tried, c.found, c.fixed, c.open
        ));
        t += c.tried;
        f += c.found;
        x += c.fixed;
        o += c.open;
    }
    s.push_str(&format!("| **all** | {t} | {f} | {x} | {o} |\n\n"));
    s.push_str(
        "\"Tried\" counts inputs, faults and misuse calls; \"still open\" counts the failures \
         and limits each section lists at its end as not fixed.\n",
    );
    for fr in frags {
        s.push('\n');
        s.push_str(&fr.text);
    }
    s
}

/// Every file of the repository (outside build outputs), as paths relative to its root.
fn repo_files() -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if name.starts_with('.') || name == "target" || name == "out" || name == "venv" {
                    continue;
                }
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let base = repo().canonicalize().unwrap();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out
}

/// `line` with every bare word that names a file (`comm.sh`, `faults.rs::name`) backticked, so
/// that prose citations are checked like backticked ones.
fn tick_bare(line: &str) -> String {
    let mut out = String::new();
    for (k, part) in line.split('`').enumerate() {
        if k > 0 {
            out.push('`');
        }
        if k % 2 == 1 {
            out.push_str(part);
            continue;
        }
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            let lead = word.len() - word.trim_start_matches(['(', '"']).len();
            let core_end = word
                .trim_end_matches([',', ';', ':', ')', '.', '"'])
                .len()
                .max(lead);
            let core = &word[lead..core_end];
            let path = core.split_once("::").map_or(core, |(p, _)| p);
            if is_path(path) {
                out.push_str(&word[..lead]);
                out.push('`');
                out.push_str(core);
                out.push('`');
                out.push_str(&word[core_end..]);
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for ch in part.chars() {
            if ch.is_whitespace() {
                flush(&mut word, &mut out);
                out.push(ch);
            } else {
                word.push(ch);
            }
        }
        flush(&mut word, &mut out);
    }
    out
}

/// The backticked spans of a line, with the text after each.
fn ticks(line: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(a) = rest.find('`') {
        let after = &rest[a + 1..];
        let Some(b) = after.find('`') else { break };
        out.push((&after[..b], &after[b + 1..]));
        rest = &after[b + 1..];
    }
    out
}

fn is_path(tok: &str) -> bool {
    !tok.is_empty()
        && tok
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && tok
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && CITED.contains(&ext))
        && !tok.starts_with('/')
}

fn is_ident(tok: &str) -> bool {
    !tok.is_empty()
        && tok.contains('_')
        && tok.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn resolve<'a>(files: &'a [String], tok: &str) -> Vec<&'a String> {
    let tail = format!("/{tok}");
    files
        .iter()
        .filter(|f| f.as_str() == tok || f.ends_with(&tail))
        .collect()
}

fn defines(text: &str, name: &str) -> bool {
    text.contains(&format!("fn {name}(")) || text.contains(&format!("def {name}("))
}

/// The first `"..."` of `s` when `s` starts with it (after spaces).
fn quoted(s: &str) -> Option<&str> {
    let s = s.trim_start().strip_prefix('"')?;
    Some(&s[..s.find('"')?])
}

/// Whether a check name of a shell script starts with `name`: the script's double-quoted
/// strings, where a `$var` or `${var}` stands for any word part (`-n $n` matches `-n 2/3`).
fn names_check(script: &str, name: &str) -> bool {
    fn glob_prefix(d: &[u8], p: &[u8]) -> bool {
        match (d.first(), p.first()) {
            (None, _) => true,
            (_, None) => false,
            (_, Some(b'*')) => (0..=d.len())
                .take_while(|&k| k == 0 || d[k - 1] != b' ')
                .any(|k| glob_prefix(&d[k..], &p[1..])),
            (Some(a), Some(b)) => a == b && glob_prefix(&d[1..], &p[1..]),
        }
    }
    let mut strings = Vec::new();
    for line in script.lines() {
        let mut parts = line.split('"');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next().or(Some(""))) {
            strings.push(inside.to_string());
        }
    }
    let var = |s: &str| {
        let mut out = String::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c == '$' {
                if it.peek() == Some(&'{') {
                    for c in it.by_ref() {
                        if c == '}' {
                            break;
                        }
                    }
                } else {
                    while it
                        .peek()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        it.next();
                    }
                }
                out.push('*');
            } else {
                out.push(c);
            }
        }
        out
    };
    strings
        .iter()
        .any(|s| glob_prefix(name.as_bytes(), var(s).as_bytes()))
}

fn check_refs(frag: &str, text: &str, files: &[String], errors: &mut Vec<String>) {
    let py_tests: String = files
        .iter()
        .filter(|f| f.starts_with("pydtl/tests/") && f.ends_with(".py"))
        .filter_map(|f| std::fs::read_to_string(repo().join(f)).ok())
        .collect();
    let mut fence = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        let at = format!("docs/reliability/{frag}.md:{}", n + 1);
        let line = tick_bare(line);
        let spans = ticks(&line);
        for (i, (tok, after)) in spans.iter().enumerate() {
            let (path, func) = match tok.split_once("::") {
                Some((p, f)) if is_path(p) => (p, Some(f)),
                _ => (*tok, None),
            };
            if is_path(path) {
                let hits = resolve(files, path);
                let Some(first) = hits.first() else {
                    errors.push(format!("{at}: `{tok}`: no such file in the repository"));
                    continue;
                };
                let body = std::fs::read_to_string(repo().join(first.as_str())).unwrap_or_default();
                // `file.rs::name`, or `file.rs` `name` right after it.
                let next = spans
                    .get(i + 1)
                    .filter(|_| after.trim().is_empty())
                    .map(|(t, _)| *t)
                    .filter(|t| is_ident(t));
                for f in func.iter().copied().chain(next) {
                    let f = f.trim_end_matches("()");
                    if f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !hits.iter().any(|h| {
                            defines(
                                &std::fs::read_to_string(repo().join(h.as_str()))
                                    .unwrap_or_default(),
                                f,
                            )
                        })
                    {
                        errors.push(format!("{at}: `{tok}`: no function `{f}` in {first}"));
                    }
                }
                // `faults.sh` "check name": the name occurs in the script.
                if path.ends_with(".sh")
                    && let Some(q) = quoted(after)
                {
                    let probe = q.split("...").next().unwrap_or(q).trim();
                    if !probe.is_empty() && !names_check(&body, probe) {
                        errors.push(format!("{at}: `{tok}` has no check named \"{q}\""));
                    }
                }
            } else if tok.starts_with("test_") && is_ident(tok) && !defines(&py_tests, tok) {
                errors.push(format!("{at}: `{tok}`: no such test in pydtl/tests"));
            }
        }
    }
}

#[test]
fn reliability_page_is_assembled_and_its_tests_exist() {
    let frags = fragments();
    assert!(!frags.is_empty(), "no fragments in docs/reliability/");
    let files = repo_files();
    let mut errors = Vec::new();
    for fr in &frags {
        check_refs(&fr.name, &fr.text, &files, &mut errors);
    }
    let page = assemble(&frags);
    let path = repo().join("docs/reliability.md");
    let stale = std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str());
    if stale {
        std::fs::write(&path, &page).unwrap();
    }
    assert!(
        errors.is_empty(),
        "docs/reliability names tests that do not exist:\n{}",
        errors.join("\n")
    );
    assert!(
        !stale,
        "docs/reliability.md was stale and has been regenerated; commit it"
    );
}

#[test]
fn counts_lines_are_checked() {
    assert!(parse_counts("x", "<!-- counts: tried=3 found=2 fixed=2 open=0 -->").is_ok());
    assert!(parse_counts("x", "<!-- counts: tried=3 found=4 fixed=2 open=0 -->").is_err());
    assert!(parse_counts("x", "<!-- counts: tried=3 found=2 -->").is_err());
    assert!(parse_counts("x", "no counts").is_err());
}

#[test]
fn references_are_checked() {
    let files = vec![
        "tests/cases/run/a.dtl".to_string(),
        "scripts/tests/reliability/faults.sh".to_string(),
    ];
    let mut errors = Vec::new();
    check_refs(
        "x",
        "| `run/a.dtl` | `missing/b.dtl` |\n",
        &files,
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("missing/b.dtl"));
    assert!(is_path("faults.sh") && !is_path("x.npy") && !is_path("/tmp/a.dtl"));
    assert!(quoted(" \"endless recursion\" and").is_some_and(|q| q == "endless recursion"));
    let script = "ok \"kill -9 rank $victim of mpirun -n $n ends the job (status $st)\"\n";
    assert!(names_check(
        script,
        "kill -9 rank 1 of mpirun -n 2/3 ends the job"
    ));
    assert!(!names_check(script, "kill -9 rank 1 of mpirun -n 2 stops"));
    assert_eq!(
        tick_bare("see faults.sh \"x\", (run/a.dtl) and `b.rs` x.npy"),
        "see `faults.sh` \"x\", (`run/a.dtl`) and `b.rs` x.npy"
    );
}
