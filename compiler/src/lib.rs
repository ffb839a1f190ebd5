//! The dtl compiler: checks, lowering and the Cranelift JIT (issues #3, #4).
