//! Program-wide information: source sites, parameter overrides, the output sink.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::error::{Code, Site};

/// Where a compiled program's output lines go.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// The standard output sink: one locked write per line, so lines from ranks never interleave.
pub fn stdout_sink() -> Sink {
    Arc::new(|line: &str| {
        let out = std::io::stdout();
        let mut l = out.lock();
        let _ = l.write_all(line.as_bytes());
        let _ = l.flush();
    })
}

/// What every rank of one run shares: source locations, parameter overrides, output.
pub struct ProgramInfo {
    /// Source locations, indexed by the `site` arguments of the entry points.
    pub sites: Vec<Site>,
    /// Number of global slots (`const` and `param` values).
    pub nglobals: usize,
    /// Overridden `param` values by global slot, as bits (see the module docs).
    pub overrides: HashMap<u32, i64>,
    /// Where `print` lines go.
    pub sink: Sink,
    /// The first failure of the run: its code and the full message (with location and rank).
    pub failure: Mutex<Option<(Code, String)>>,
}

impl ProgramInfo {
    pub fn new(sites: Vec<Site>, nglobals: usize) -> Self {
        ProgramInfo {
            sites,
            nglobals,
            overrides: HashMap::new(),
            sink: stdout_sink(),
            failure: Mutex::new(None),
        }
    }

    pub(super) fn site(&self, id: i32) -> Site {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.sites.get(i).copied())
            .unwrap_or(Site::NONE)
    }

    /// The run's root-cause failure (not an R0011 echo when a root cause exists).
    pub fn take_failure(&self) -> Option<(Code, String)> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

/// Interns a file name as the `&'static str` a [`Site`] needs (each distinct name leaks once).
pub fn intern_file(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut names) = NAMES.lock() else {
        return "<source>";
    };
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}
