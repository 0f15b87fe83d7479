//! JsonLogic → IR: compiles flagd targeting (a JsonLogic rule) into an
//! [`Expr`] the resolver evaluates.
//!
//! What the compiler does once so evaluation does not have to:
//!
//! - `{"$ref": "name"}` is replaced by the named `$evaluators` entry,
//!   recursively, as flagd does; a cycle of references is an error.
//! - Operators are resolved to [`Op`]s (`?:` is `if`); an unknown operator
//!   is an error, as JsonLogic refuses it.
//! - `var` with a literal path becomes [`Expr::Var`] / [`Expr::VarOr`] with
//!   the path split into segments (numbers read as JavaScript writes them);
//!   `$flagd.flagKey` and `$flagd.timestamp` become [`Expr::FlagKey`] and
//!   [`Expr::Timestamp`]. Computed paths stay [`Expr::VarDyn`].
//! - `in` against a literal array of strings becomes [`Expr::InSet`]
//!   (sorted, deduplicated, binary search).
//! - Arrays without logic stay literals; arrays with logic become
//!   [`Expr::Array`]. Objects with other than one key are literal data.
//!
//! Arguments are not judged: flagd loads a rule whose `sem_ver` has two
//! arguments or whose `fractional` weights are all zero and evaluates the
//! operator to `null`, and the resolver does the same. (The flagd front end
//! warns about such rules.)
//!
//! Size is bounded: a rule (with its references expanded) may nest at most
//! [`MAX_DEPTH`] levels and produce at most [`MAX_NODES`] nodes, every value
//! of literal data and of an `in` set counted, which keeps evaluation's
//! recursion and a snapshot's CBOR nesting small and stops `$ref` chains
//! that double at every step or copy one large literal many times. The
//! flagd front end also shares one allowance between all the rules of a
//! file (`crate::size`).

use std::fmt;

use serde_json::{Map, Value};
use vane_resolver::expr::{Expr, Op, Path, StrSet};

use crate::size::{data_depth, data_size, NodeBudget};

/// Deepest nesting accepted, counting every operator, array and level of
/// literal data as one level (a literal number inside `{"==": [..]}` is at
/// level 2).
pub use crate::size::MAX_DEPTH;
/// Most nodes one rule may compile to, `$ref`s expanded, every value of
/// literal data counted.
pub use crate::size::MAX_NODES;

/// One step of a [`CompileError`] path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object member (for JsonLogic: the operator name).
    Key(String),
    /// An array element (for JsonLogic: an argument).
    Index(usize),
}

/// What kind of problem a [`CompileError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// An object with one key that is not a JsonLogic or flagd operator.
    UnknownOperator,
    /// `{"$ref": name}` where `$evaluators` has no `name`. flagd loads such
    /// a file and fails each evaluation of the flag with `PARSE_ERROR`, so a
    /// front end may treat this kind as a warning.
    MissingRef,
    /// `{"$ref": x}` where `x` is not a string.
    MalformedRef,
    /// References that lead back to themselves.
    RefCycle,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_NODES`] expression nodes.
    TooLarge,
}

impl CompileErrorKind {
    /// True for the problems flagd only finds when it evaluates the rule: it
    /// loads the file, and each evaluation of the flag fails with
    /// `PARSE_ERROR` (flagd core applies the rule with its JsonLogic library
    /// per evaluation; an unknown operator, or a `$ref` its load-time
    /// substitution left in place — missing, not a string, or part of a
    /// cycle — fails there). False for the size limits, which are the
    /// builder's own and protect every tenant of the edge.
    pub fn fails_at_evaluation(self) -> bool {
        !matches!(self, CompileErrorKind::TooDeep | CompileErrorKind::TooLarge)
    }
}

/// A problem that stops a rule from compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    kind: CompileErrorKind,
    path: Vec<PathStep>,
    message: String,
}

impl CompileError {
    /// What kind of problem this is.
    pub fn kind(&self) -> CompileErrorKind {
        self.kind
    }

    /// True for a `$ref` to an evaluator that does not exist (see
    /// [`CompileErrorKind::MissingRef`]).
    pub fn is_missing_ref(&self) -> bool {
        self.kind == CompileErrorKind::MissingRef
    }

    /// Where the problem is, relative to the rule: `[Key("if"), Index(0)]`
    /// is `if[0]`; empty for the rule itself. A problem inside a referenced
    /// evaluator is reported at the `$ref` that brought it in, and its
    /// message names the evaluator and the place inside it.
    pub fn path(&self) -> &[PathStep] {
        &self.path
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Shows the message; the location is [`CompileError::path`] (see
/// [`path_text`] to write it).
impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {}

/// Writes a path as `if[0].var`; keys other than ASCII letters, digits,
/// `-`, `_` and `$` are quoted in brackets (`["=="][1]`).
pub fn path_text(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            PathStep::Key(k)
                if !k.is_empty()
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$')) =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Key(k) => out.push_str(&format!("[{}]", Value::from(k.as_str()))),
        }
    }
    out
}

/// Compiles a JsonLogic rule; `evaluators` are the file's `$evaluators`
/// (name → rule) that `{"$ref": name}` refers to.
///
/// Errors: the first problem in document order, except that any other
/// problem is reported before a [`CompileErrorKind::MissingRef`] (so a
/// front end that tolerates missing references never hides a real error).
/// [`compile_all`] returns every problem.
pub fn compile(rule: &Value, evaluators: &Map<String, Value>) -> Result<Expr, CompileError> {
    compile_all(rule, evaluators).map_err(|mut errors| {
        let first = errors.iter().position(|e| !e.is_missing_ref()).unwrap_or(0);
        errors.swap_remove(first)
    })
}

/// Like [`compile`], but reports every problem, in document order.
pub fn compile_all(
    rule: &Value,
    evaluators: &Map<String, Value>,
) -> Result<Expr, Vec<CompileError>> {
    compile_all_within(rule, evaluators, &mut NodeBudget::for_file())
}

/// Like [`compile_all`], with the rule's nodes taken from `budget`, the
/// allowance of the whole file the rule is in.
pub(crate) fn compile_all_within(
    rule: &Value,
    evaluators: &Map<String, Value>,
    budget: &mut NodeBudget,
) -> Result<Expr, Vec<CompileError>> {
    let mut compiler = Compiler {
        evaluators,
        errors: Vec::new(),
        path: Vec::new(),
        expanding: Vec::new(),
        nodes: 0,
        max_nodes: budget.condition_limit(),
        too_large: budget.over_limit_message("$refs"),
    };
    let expr = compiler.expr(rule, 1);
    budget.spend(compiler.nodes);
    if compiler.errors.is_empty() {
        Ok(expr)
    } else {
        Err(compiler.errors)
    }
}

struct Compiler<'e> {
    evaluators: &'e Map<String, Value>,
    errors: Vec<CompileError>,
    /// Path of the node being compiled, relative to the rule or, while a
    /// `$ref` is expanded, to the innermost evaluator.
    path: Vec<PathStep>,
    /// References being expanded, outermost first.
    expanding: Vec<Expansion<'e>>,
    /// Nodes compiled so far, and the most this rule may have.
    nodes: usize,
    max_nodes: usize,
    /// What to say when the rule has more.
    too_large: String,
}

/// A `$ref` being expanded: the evaluator's name and the path of the `$ref`
/// in the enclosing rule or evaluator.
struct Expansion<'e> {
    name: &'e str,
    site: Vec<PathStep>,
}

/// Placeholder for a node that failed to compile (the result is discarded).
fn nothing() -> Expr {
    Expr::Lit(Value::Null)
}

impl<'e> Compiler<'e> {
    /// The error `message` at the current place.
    fn located(&self, kind: CompileErrorKind, message: String) -> CompileError {
        match self.expanding.first() {
            None => CompileError {
                kind,
                path: self.path.clone(),
                message,
            },
            Some(outermost) => {
                let innermost = self.expanding.last().map_or("", |e| e.name);
                let place = match path_text(&self.path) {
                    p if p.is_empty() => String::new(),
                    p => format!(" at {p}"),
                };
                CompileError {
                    kind,
                    path: outermost.site.clone(),
                    message: format!("in $evaluators.{innermost}{place}: {message}"),
                }
            }
        }
    }

    /// Records an error at the current place, at position `at` of the list
    /// (the end, unless an operator reports itself before its arguments).
    /// An evaluator referenced twice reports its problems once.
    fn error_at(&mut self, at: usize, kind: CompileErrorKind, message: String) {
        let error = self.located(kind, message);
        if !self.errors.contains(&error) {
            self.errors.insert(at.min(self.errors.len()), error);
        }
    }

    fn error(&mut self, kind: CompileErrorKind, message: String) {
        self.error_at(self.errors.len(), kind, message);
    }

    /// Reports a size limit once per rule.
    fn limit(&mut self, kind: CompileErrorKind, message: String) {
        if !self.errors.iter().any(|e| e.kind == kind) {
            self.error(kind, message);
        }
    }

    /// Counts `n` more nodes; false (and the limit reported) when the rule
    /// now has too many.
    fn count(&mut self, n: usize) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.max_nodes {
            self.limit(CompileErrorKind::TooLarge, self.too_large.clone());
            return false;
        }
        true
    }

    fn expr(&mut self, v: &'e Value, depth: usize) -> Expr {
        if depth > MAX_DEPTH {
            self.limit(
                CompileErrorKind::TooDeep,
                format!("the rule nests deeper than {MAX_DEPTH} levels"),
            );
            return nothing();
        }
        if !self.count(1) {
            return nothing();
        }
        match v {
            Value::Array(items) => self.array(items, depth),
            Value::Object(m) if m.len() == 1 => match m.iter().next() {
                Some((key, args)) if key == "$ref" => self.reference(args, depth),
                Some((key, args)) => {
                    self.path.push(PathStep::Key(key.clone()));
                    let e = self.operator(key, args, depth);
                    self.path.pop();
                    e
                }
                None => nothing(),
            },
            literal => {
                if depth + data_depth(literal) - 1 > MAX_DEPTH {
                    self.limit(
                        CompileErrorKind::TooDeep,
                        format!("the rule nests deeper than {MAX_DEPTH} levels"),
                    );
                }
                // The node itself is counted; its members are copied too.
                if !self.count(data_size(literal) - 1) {
                    return nothing();
                }
                Expr::Lit(literal.clone())
            }
        }
    }

    /// A JSON array: every element is evaluated, so each is compiled.
    fn array(&mut self, items: &'e [Value], depth: usize) -> Expr {
        let exprs: Vec<Expr> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                self.path.push(PathStep::Index(i));
                let e = self.expr(item, depth + 1);
                self.path.pop();
                e
            })
            .collect();
        if exprs.iter().all(|e| matches!(e, Expr::Lit(_))) {
            Expr::Lit(Value::Array(
                exprs
                    .into_iter()
                    .map(|e| match e {
                        Expr::Lit(v) => v,
                        _ => Value::Null,
                    })
                    .collect(),
            ))
        } else {
            Expr::Array(exprs)
        }
    }

    /// `{"$ref": name}`: the named evaluator, compiled in place.
    fn reference(&mut self, name: &'e Value, depth: usize) -> Expr {
        let Value::String(name) = name else {
            self.error(
                CompileErrorKind::MalformedRef,
                format!("$ref must be the name of an evaluator (a string), found {name}"),
            );
            return nothing();
        };
        let Some(rule) = self.evaluators.get(name) else {
            self.error(
                CompileErrorKind::MissingRef,
                format!("$ref names evaluator '{name}', which $evaluators does not define"),
            );
            return nothing();
        };
        if let Some(start) = self.expanding.iter().position(|e| e.name == name) {
            let cycle: Vec<&str> = self.expanding[start..]
                .iter()
                .map(|e| e.name)
                .chain([name.as_str()])
                .collect();
            self.error(
                CompileErrorKind::RefCycle,
                format!("$ref cycle: {}", cycle.join(" → ")),
            );
            return nothing();
        }
        let site = std::mem::take(&mut self.path);
        self.expanding.push(Expansion { name, site });
        let e = self.expr(rule, depth);
        if let Some(done) = self.expanding.pop() {
            self.path = done.site;
        }
        e
    }

    /// `{op: args}`; `self.path` already ends with the operator's key.
    fn operator(&mut self, name: &'e str, args: &'e Value, depth: usize) -> Expr {
        // JsonLogic reads a non-array argument as a one-element list.
        let (list, listed): (&[Value], bool) = match args {
            Value::Array(items) => (items, true),
            single => (std::slice::from_ref(single), false),
        };
        match name {
            "var" => return self.var(list, listed, depth),
            "in" => {
                if let [needle, Value::Array(set)] = list {
                    if let Some(set) = string_set(set) {
                        if !self.count(set.len()) {
                            return nothing();
                        }
                        let needle = self.arg(needle, 0, listed, depth);
                        return Expr::InSet(Box::new(needle), set);
                    }
                }
            }
            _ => {}
        }
        let op = match name {
            "?:" => Some(Op::If),
            // The IR names operators exactly as JsonLogic does.
            other => serde_json::from_value::<Op>(Value::from(other)).ok(),
        };
        let first_arg_error = self.errors.len();
        let args: Vec<Expr> = list
            .iter()
            .enumerate()
            .map(|(i, a)| self.arg(a, i, listed, depth))
            .collect();
        match op {
            Some(op) => Expr::Op(op, args),
            None => {
                // The arguments were still compiled, for their own problems;
                // the operator comes first in document order.
                self.error_at(
                    first_arg_error,
                    CompileErrorKind::UnknownOperator,
                    format!("unknown operator '{name}'"),
                );
                nothing()
            }
        }
    }

    /// Compiles argument `i` of the current operator.
    fn arg(&mut self, a: &'e Value, i: usize, listed: bool, depth: usize) -> Expr {
        if listed {
            self.path.push(PathStep::Index(i));
        }
        let e = self.expr(a, depth + 1);
        if listed {
            self.path.pop();
        }
        e
    }

    /// `var`: `[path, default]`. A literal path is split now; a computed
    /// one (an operator, an array or object) is evaluated at run time.
    fn var(&mut self, list: &'e [Value], listed: bool, depth: usize) -> Expr {
        let Some(first) = list.first() else {
            return Expr::Var(Vec::new());
        };
        let text = match first {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            // Integers read the same in JavaScript; other numbers are left
            // to the evaluator, which writes them as JavaScript does.
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => {
                let args = list
                    .iter()
                    .take(2)
                    .enumerate()
                    .map(|(i, a)| self.arg(a, i, listed, depth))
                    .collect();
                return Expr::VarDyn(args);
            }
        };
        let default = list.get(1).map(|d| self.arg(d, 1, listed, depth));
        let path: Path = if text.is_empty() {
            Vec::new()
        } else {
            text.split('.').map(str::to_owned).collect()
        };
        if path.first().is_some_and(|s| s == "$flagd") {
            return match path.as_slice() {
                [_, key] if key == "flagKey" => Expr::FlagKey,
                [_, key] if key == "timestamp" => Expr::Timestamp,
                _ => Expr::VarDyn(
                    [Expr::Lit(Value::String(text))]
                        .into_iter()
                        .chain(default)
                        .collect(),
                ),
            };
        }
        match default {
            None => Expr::Var(path),
            Some(d) => Expr::VarOr(path, Box::new(d)),
        }
    }
}

/// The members of a literal array of strings, sorted and deduplicated;
/// `None` when any member is not a string.
fn string_set(items: &[Value]) -> Option<StrSet> {
    let members: Vec<&str> = items.iter().map(Value::as_str).collect::<Option<_>>()?;
    Some(StrSet::new(members))
}
