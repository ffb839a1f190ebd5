//! The dtl grammar: logos tokens, the lalrpop parser and the AST (issue #3).
