//! The dtl standard library, written in dtl and embedded as source (issue #4).
