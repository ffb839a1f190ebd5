//! Fuzz target: the whole front end (lexer, parser, resolve, typeck, SPMD checks) and the
//! diagnostic renderer on arbitrary UTF-8. Any panic, stack overflow or timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let (sources, checked) = dtl_compiler::driver::check_source("fuzz.dtl", src);
        let _ = dtl_compiler::diagnostics::render(
            &checked.diagnostics,
            &sources,
            dtl_compiler::diagnostics::Style::Plain,
        );
    }
});
