//! The Python package `dtl` (issue #5); empty until then.
