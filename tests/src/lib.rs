//! Test harness for golden and end-to-end tests (filled by the compiler issues).
