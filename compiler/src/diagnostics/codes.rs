//! The stable diagnostic codes; each variant's doc comment is also its `dtlc explain` text.

/// Declares [`Code`] from variants with doc comments, and makes the same doc text available
/// at run time so that `dtlc explain` and `docs/diagnostics/` never drift from the source.
macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $name:ident => $title:literal, )*) => {
        /// A stable diagnostic code (LANGUAGE §13). Codes are never renumbered.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// The code as written in diagnostics, e.g. `"E0301"`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => stringify!($name),)* }
            }

            /// A one-line title.
            pub fn title(self) -> &'static str {
                match self { $(Code::$name => $title,)* }
            }

            /// The raw doc comment (each line still carries rustdoc's leading space).
            fn raw_doc(self) -> &'static str {
                match self { $(Code::$name => concat!($($doc, "\n",)*),)* }
            }
        }
    };
}

impl Code {
    /// Parses `"E0301"` (case-insensitive, the `E` optional).
    pub fn parse(s: &str) -> Option<Code> {
        let s = s.trim().to_ascii_uppercase();
        let s = if s.starts_with('E') {
            s
        } else {
            format!("E{s}")
        };
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The long explanation in Markdown: what, why, example, how to fix.
    pub fn explain(self) -> String {
        let mut out = String::new();
        for line in self.raw_doc().lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out
    }

    /// The page `docs/diagnostics/<CODE>.md`.
    pub fn doc_page(self) -> String {
        format!(
            "<!-- generated from compiler/src/diagnostics/codes.rs by the docs test; do not edit -->\n# {}: {}\n\n{}",
            self.as_str(),
            self.title(),
            self.explain()
        )
    }

    /// The page `docs/diagnostics/README.md`: an index of all codes.
    pub fn doc_index() -> String {
        let mut out = String::from(
            "<!-- generated from compiler/src/diagnostics/codes.rs by the docs test; do not edit -->\n\
             # Compiler diagnostics\n\n\
             Every compile error carries one of these stable codes (codes are never renumbered).\n\
             `dtlc explain CODE` prints the same text.\n\n| code | meaning |\n|---|---|\n",
        );
        for c in Code::ALL {
            out.push_str(&format!("| [{0}]({0}.md) | {1} |\n", c.as_str(), c.title()));
        }
        out
    }
}

codes! {
    /// ## What it means
    /// The source could not be parsed: an unexpected token, a missing `;` or brace, an
    /// unterminated comment or string, a malformed number, or nesting deeper than the parser allows.
    ///
    /// ## Why
    /// Nothing else can be checked until the program has a shape; the parser recovers where it can
    /// and reports several syntax errors in one run.
    ///
    /// ## Example
    /// ```dtl
    /// fn main() {
    ///     let b = 2      // missing `;`
    ///     let c = b + 1;
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Add the token the message asks for, or remove the stray one.
    E0001 => "syntax error",

    /// ## What it means
    /// The file is not valid UTF-8.
    ///
    /// ## Why
    /// dtl sources are UTF-8 text; the compiler checks the file with the invalid bytes replaced,
    /// but positions after them may be off.
    ///
    /// ## Example
    /// A file saved in Latin-1 with an `é` in a comment.
    ///
    /// ## How to fix
    /// Re-save the file as UTF-8.
    E0002 => "source is not valid UTF-8",

    /// ## What it means
    /// A name was used that is not defined: a variable, function, module, module member,
    /// type or annotation.
    ///
    /// ## Why
    /// Names are resolved lexically: a `let` is visible from the next statement to the end of its
    /// block; functions, `const`s and `param`s anywhere in the file; stdlib functions only after
    /// `import module;` and through `module::name`.
    ///
    /// ## Example
    /// ```dtl
    /// fn main() {
    ///     let total = 3;
    ///     print(totl);       // E0101
    /// }
    /// ```
    ///
    /// ## How to fix
    /// Fix the spelling, declare the name first, or add the missing `import`.
    E0101 => "unknown name",

    /// ## What it means
    /// A name was defined twice in the same scope: two functions, two parameters of one
    /// function, two `let`s in one block, or two globals with one name.
    ///
    /// ## Why
    /// A second definition would silently hide the first one. (A `let` in an inner block may
    /// shadow an outer one; that is allowed.)
    ///
    /// ## Example
    /// ```dtl
    /// fn f(x: i64, x: i64) -> i64 { x }   // E0102
    /// ```
    ///
    /// ## How to fix
    /// Rename one of the two definitions.
    E0102 => "name defined twice in one scope",

    /// ## What it means
    /// The program has no `fn main()`, or `main` takes parameters or returns a value.
    ///
    /// ## Why
    /// Every rank starts by running `fn main()` with no arguments.
    ///
    /// ## Example
    /// ```dtl
    /// fn start() { print(1); }   // E0103: no `main`
    /// ```
    ///
    /// ## How to fix
    /// Add `fn main() { ... }`.
    E0103 => "missing or malformed `main`",

    /// ## What it means
    /// Two types that must be equal are not: an `i64` where an `f64` is expected, an `if`
    /// condition that is not `bool`, a return value of the wrong type, or a container where a
    /// scalar is expected.
    ///
    /// ## Why
    /// dtl is strictly typed like Rust: there is no implicit conversion between integer and float
    /// types or between widths. Only literals adapt (`2.0 * a` is `f32` when `a` is).
    ///
    /// ## Example
    /// ```dtl
    /// let n = 10;
    /// let x = 2.5;
    /// let y = n * x;        // E0201: i64 * f64
    /// ```
    ///
    /// ## How to fix
    /// Convert explicitly with `as`: `(n as f64) * x`.
    E0201 => "mismatched types",

    /// ## What it means
    /// A call has too few or too many arguments, an unknown named argument, a named argument
    /// given twice, or a required named argument (such as `root:`) is missing.
    ///
    /// ## Why
    /// Builtins take fixed positional arguments followed by named ones (`fill:`, `root:`,
    /// `dest:`, `source:`, `tag:`, `descending:`); user functions take positional arguments only.
    ///
    /// ## Example
    /// ```dtl
    /// let b = broadcast(x);          // E0202: missing `root:`
    /// ```
    ///
    /// ## How to fix
    /// Match the signature shown in the message.
    E0202 => "wrong number or names of arguments",

    /// ## What it means
    /// A value bound with a plain `let` (or a function parameter) was assigned to.
    ///
    /// ## Why
    /// Scalars are immutable unless declared `let mut`. (A container's elements can always be
    /// written through its handle: `u[i] = 1.0` and `u = 0.0` are fine on a plain `let`.)
    ///
    /// ## Example
    /// ```dtl
    /// let k = 1;
    /// k = 2;                // E0203
    /// ```
    ///
    /// ## How to fix
    /// Declare it `let mut k = 1;`.
    E0203 => "assignment to an immutable binding",

    /// ## What it means
    /// A value was used in a way its kind does not allow: calling something that is not a
    /// function, indexing a scalar, using a module or a function as a value, or a type that is not
    /// valid where it is written (e.g. `tensor<f64, 1>`, `map<f64, f64>`, `vector<vector<f64>>`).
    ///
    /// ## Why
    /// Functions, modules and types are not values in dtl.
    ///
    /// ## Example
    /// ```dtl
    /// let x = 3;
    /// let y = x(1);         // E0204
    /// ```
    ///
    /// ## How to fix
    /// Call a function, index a container, or use a valid type.
    E0204 => "wrong kind of value",

    /// ## What it means
    /// A collective (an operation every rank must call together) is control-dependent on a
    /// *varying* condition, so some ranks may reach it and others not. This includes a `break`,
    /// `continue` or `return` under a varying condition that can skip a later collective, and a
    /// call of a function that (directly or through other calls) contains a collective.
    ///
    /// ## Why
    /// Every rank must call the same collectives in the same order, or the program hangs or
    /// mixes up data. A value is varying when ranks may hold different values: `rank()`,
    /// `local_len`, element reads, `recv`, `get`, `wtime()`, and anything computed from them.
    ///
    /// ## Example
    /// ```dtl
    /// if rank() == 0 { barrier(); }        // E0301
    /// ```
    ///
    /// ## How to fix
    /// Move the collective out of the branch, or make the condition uniform, e.g.
    /// `if allreduce(c, lor) { ... }` so that every rank takes the same branch.
    E0301 => "collective not reached by every rank",

    /// ## What it means
    /// A collective (a container reduction, `barrier`, `allreduce`, a container constructor, a call
    /// of a function that contains one, ...) appears inside a `forall` body.
    ///
    /// ## Why
    /// A forall body runs once per owned index, a different number of times on each rank, so a
    /// collective inside it cannot be matched across ranks.
    ///
    /// ## Example
    /// ```dtl
    /// forall i in u { u[i] = sum(u); }     // E0302
    /// ```
    ///
    /// ## How to fix
    /// Compute the collective before the forall: `let s = sum(u); forall i in u { u[i] = s; }`,
    /// or use a reduction clause `forall i in u with s: sum { ... }`.
    E0302 => "collective inside a forall body",

    /// ## What it means
    /// A forall body writes a distributed container at an index other than the iteration index,
    /// or writes a container that is not aligned with the iteration container.
    ///
    /// ## Why
    /// Each rank runs the body only for the indices it owns; `u[i + 1]` may belong to another
    /// rank's memory.
    ///
    /// ## Example
    /// ```dtl
    /// forall i in u { u[i + 1] = 1.0; }    // E0303
    /// ```
    ///
    /// ## How to fix
    /// Write at `u[i]`, or use `put(u, j, x)` / `atomic_add(u, j, x)` for remote writes.
    E0303 => "forall writes outside the iteration index",

    /// ## What it means
    /// A forall body reads a distributed container at an index that is neither the iteration
    /// index nor `i + k` with a constant `|k|` within the container's halo width.
    ///
    /// ## Why
    /// Only the owned elements and the ghost elements of the halo are present on a rank; other
    /// elements live on other ranks.
    ///
    /// ## Example
    /// ```dtl
    /// let u = vector<f64>(100) @halo(1);
    /// forall i in u { v[i] = u[i - 2]; }   // E0304: offset 2 > halo 1
    /// ```
    ///
    /// ## How to fix
    /// Widen the halo (`@halo(2)`), read through `get(u, j)`, or mark a small container
    /// `@replicated`.
    E0304 => "forall reads outside the halo",

    /// ## What it means
    /// A forall body assigns to a scalar declared outside it that is not a reduction variable,
    /// or a `with` clause names something that is not a uniform `let mut` scalar.
    ///
    /// ## Why
    /// Outer scalars are read-only in a forall: iterations run in any order on every rank, so
    /// their combined effect would depend on the rank count. Reductions make it well defined.
    ///
    /// ## Example
    /// ```dtl
    /// let mut s = 0.0;
    /// forall i in u { s += u[i]; }         // E0305
    /// ```
    ///
    /// ## How to fix
    /// Add a reduction clause: `forall i in u with s: sum { s += u[i]; }`.
    E0305 => "forall assigns an outer scalar",

    /// ## What it means
    /// Two accesses of one distributed container can race: a remote access (`get`, an element
    /// read outside a `forall`, `put`, `atomic_add`, a map `lookup` or `insert`) and an earlier
    /// access by other ranks (a `forall` write, a put, an atomic, an insert, or a read that a
    /// later write could overtake), with no point between them that every rank passes together.
    ///
    /// ## Why
    /// Ranks run at their own pace. dtl guarantees that an access sees every access made before
    /// it in program order, on any rank: where a point that every rank reaches lies between the
    /// two, the compiler inserts a `barrier()` there. Inside one `forall` body, inside one
    /// branch that only some ranks take, or inside one statement that every rank runs, there is
    /// no such point, and the result would depend on timing.
    ///
    /// ## Example
    /// ```dtl
    /// forall i in u { u[i] = get(u, n - 1 - i); }   // E0306: reverses u in place
    /// if rank() < 2 { put(u, rank(), 1.0); print(get(u, 1 - rank())); }   // E0306
    /// if rank() == 0 { put(u, 5, 1.0); print(get(u, 5)); }   // fine: one rank, in order
    /// u[0] += 1.0;   // E0306 outside a forall: every rank reads, then writes, u[0]
    /// ```
    ///
    /// ## How to fix
    /// Read from a copy made before the `forall` (`let old = copy(u);`), split the work into two
    /// `forall`s, move the later access out of the rank-dependent branch, after a `barrier()`
    /// that every rank reaches, or split a statement in two (`let t = u[0]; u[0] = t + 1.0;`)
    /// or let one rank run it (`if rank() == 0 { u[0] += 1.0; }`).
    E0306 => "remote access can race with an earlier access",

    /// ## What it means
    /// An annotation is not valid here: a halo on a non-block partition, two partition (or two
    /// placement) annotations on one container, an unknown or ill-typed annotation argument, or
    /// `@hash` on something that is not a map.
    ///
    /// ## Why
    /// Halos are ghost elements of a contiguous block; cyclic layouts have no neighbours.
    ///
    /// ## Example
    /// ```dtl
    /// let u = vector<f64>(100) @cyclic @halo(1);   // E0401
    /// ```
    ///
    /// ## How to fix
    /// Use `@block @halo(w)`, or drop the halo.
    E0401 => "annotation not valid here",

    /// ## What it means
    /// Containers combined in one whole-container expression, assignment, `swap`, `dot` or
    /// forall are not aligned: the compiler can see that their lengths or partitions differ.
    ///
    /// ## Why
    /// Fused expressions run one loop per rank over the locally owned elements, which only works
    /// when every container has the same elements on the same rank.
    ///
    /// ## Example
    /// ```dtl
    /// let a = vector<f64>(100);
    /// let b = vector<f64>(100) @cyclic;
    /// a = a + b;                             // E0402
    /// ```
    ///
    /// ## How to fix
    /// Redistribute one side first: `let c = copy(b) @block; a = a + c;`.
    E0402 => "containers not aligned",

    /// ## What it means
    /// An annotation is attached to an expression that cannot take one: only container
    /// constructors, `copy(...)` and `load<T>(...)` accept partition and placement annotations.
    ///
    /// ## Why
    /// Annotations describe how a new container is laid out; an existing value has a layout already.
    ///
    /// ## Example
    /// ```dtl
    /// let x = 3 @cyclic;                     // E0403
    /// ```
    ///
    /// ## How to fix
    /// Remove the annotation, or put it on a constructor or `copy(...)`.
    E0403 => "annotation not allowed on this expression",

    /// ## What it means
    /// An operation is not available for this kind of container, such as `resize` on a
    /// fixed-size `array<T>`, or `local_offset` on a container whose partition is not block.
    ///
    /// ## Why
    /// `array<T>` promises a fixed size; only `vector<T>` grows and shrinks.
    ///
    /// ## Example
    /// ```dtl
    /// let a = array<f64>(10);
    /// resize(a, 20);                         // E0404
    /// ```
    ///
    /// ## How to fix
    /// Declare the container as `vector<T>`.
    E0404 => "operation not available for this container",

    /// ## What it means
    /// The program is valid dtl, but the code generator does not handle this construct yet
    /// (for example `@block_cyclic(b)` with a block size computed at run time, or a
    /// whole-container expression passed directly as a function argument).
    ///
    /// ## Why
    /// Rather than miscompile or silently drop the construct, `dtlc` stops and names it, at
    /// the construct. (A broken invariant inside the compiler is not E0501: it is reported as
    /// an "internal compiler error" with a request to report it, and `dtlc` exits with 101.)
    ///
    /// ## Example
    /// ```dtl
    /// let b = 4 * size();
    /// let u = vector<f64>(100) @block_cyclic(b); // E0501 (b is not a constant)
    /// ```
    ///
    /// ## How to fix
    /// Rewrite as the message suggests, e.g. assign the expression to a container first, or use
    /// a constant block size.
    E0501 => "not supported yet by the code generator",
}
