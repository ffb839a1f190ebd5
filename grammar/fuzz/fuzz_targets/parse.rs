//! Fuzz target: lex, parse, print and drop arbitrary bytes. Any panic, stack overflow or
//! timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (module, errors) = dtl_grammar::parse_bytes(data);
    let _ = dtl_grammar::print_ast(&module);
    for e in &errors {
        assert!(e.span.start <= e.span.end);
        assert!(e.span.end as usize <= data.len());
    }
    if let Ok(src) = std::str::from_utf8(data) {
        let toks = dtl_grammar::lex(src);
        let _ = dtl_grammar::print_tokens(&toks);
    }
});
