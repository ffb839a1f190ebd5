//! The dtl standard library, written in dtl and embedded as source (LANGUAGE §14).
//!
//! `import stats;` in a program makes the compiler parse and check [`source`]`("stats")` like
//! user code; its functions are then called as `stats::variance(u)`.

/// The module names, in a fixed order.
pub const MODULES: &[&str] = &["stats", "linalg", "random"];

/// The dtl source of stdlib module `module`, or `None` when there is no such module.
pub fn source(module: &str) -> Option<&'static str> {
    match module {
        "stats" => Some(include_str!("../stats.dtl")),
        "linalg" => Some(include_str!("../linalg.dtl")),
        "random" => Some(include_str!("../random.dtl")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_module_has_source() {
        for m in super::MODULES {
            assert!(super::source(m).is_some_and(|s| s.contains("fn ")), "{m}");
        }
        assert!(super::source("nope").is_none());
    }
}
