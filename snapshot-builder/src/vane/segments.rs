//! Segments and lowering: resolves `segment:` references (unknown names,
//! cycles) and turns a [`Cond`] into the resolver's [`Expr`], inlining every
//! segment where it is used.
//!
//! Combinators become JsonLogic operators of the IR: `all` → `and`,
//! `any` → `or`, `not` → `!`; the typed tests evaluate to booleans, so
//! JsonLogic truthiness gives exactly the boolean logic. Each segment is
//! lowered once (memoised) and its errors are reported once, where the
//! segment is defined or where the reference closing a cycle is written.
//!
//! Inlining multiplies: a segment used twice by a segment used twice by ...
//! doubles at every step, and a chain of segments nests without end. So
//! every lowered condition carries its depth and node count, checked
//! against the limits of [`crate::size`] as conditions are combined, before
//! anything large is built; segment references nest at most
//! [`MAX_DEPTH`] deep; and everything built for one file (segments and
//! rules' conditions) comes out of one [`NodeBudget`].

use std::collections::HashMap;

use vane_resolver::expr::typed::Test;
use vane_resolver::expr::{Expr, Op, Path};

use super::condition::{Cond, SegmentRef};
use super::reader::{suggest, Cx};
use super::yaml::Pos;
use crate::size::{data_depth, data_size, NodeBudget, MAX_DEPTH};

/// A segment definition: its name, where the name is written, and its
/// condition (`None` when the condition has errors, already reported).
pub struct Definition {
    /// The segment's name.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    /// The parsed condition.
    pub cond: Option<Cond>,
}

/// A lowered condition with its nesting depth and node count (operators,
/// tests and every value of a test's operand, as [`crate::size`] counts).
#[derive(Clone)]
struct Lowered {
    expr: Expr,
    depth: usize,
    nodes: usize,
}

/// Why a condition was not lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failed {
    /// Its problems are reported already (an unknown segment, a cycle, a
    /// segment with errors of its own).
    Reported,
    /// Deeper than [`MAX_DEPTH`]; reported where the whole condition is.
    TooDeep,
    /// More nodes than allowed; reported where the whole condition is.
    TooLarge,
}

enum State {
    Pending,
    InProgress,
    /// Lowered; `None` when it has errors (reported).
    Done(Option<Lowered>),
}

/// Every segment of the file and the lowering state of each.
pub struct Segments {
    defs: Vec<Definition>,
    index: HashMap<String, usize>,
    state: Vec<State>,
    used: Vec<bool>,
    /// Segments being lowered, innermost last (to name a cycle).
    stack: Vec<usize>,
    /// The file's allowance of nodes, spent by every segment and condition
    /// built.
    budget: NodeBudget,
    /// Whether segments nesting too deep were reported (once per file).
    nesting_reported: bool,
}

impl Segments {
    /// Segment definitions in file order (names already unique).
    pub fn new(defs: Vec<Definition>) -> Self {
        let index = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), i))
            .collect();
        let n = defs.len();
        Segments {
            defs,
            index,
            state: (0..n).map(|_| State::Pending).collect(),
            used: vec![false; n],
            stack: Vec::new(),
            budget: NodeBudget::for_file(),
            nesting_reported: false,
        }
    }

    /// Lowers every segment once, reporting unknown references and cycles.
    pub fn check_all(&mut self, cx: &mut Cx) {
        for i in 0..self.defs.len() {
            self.segment(cx, i);
        }
    }

    /// Warns about segments that no flag and no other segment references.
    pub fn warn_unused(&self, cx: &mut Cx) {
        for (def, used) in self.defs.iter().zip(&self.used) {
            if !used {
                cx.warning(
                    def.pos,
                    &format!("segments.{}", def.name),
                    format!("segment '{}' is not used by any rule or segment", def.name),
                );
            }
        }
    }

    /// The lowered segment `i`, lowering it first if needed; `None` when it
    /// has errors (reported where it is defined) or is part of a cycle
    /// (reported by the reference that closes it).
    fn segment(&mut self, cx: &mut Cx, i: usize) -> Option<&Lowered> {
        if matches!(self.state[i], State::Pending) && self.budget.is_spent() {
            // The file is refused already, where its allowance ran out.
            self.state[i] = State::Done(None);
        }
        if let State::Pending = self.state[i] {
            self.state[i] = State::InProgress;
            self.stack.push(i);
            let cond = self.defs[i].cond.take();
            let limit = self.budget.condition_limit();
            let lowered = match &cond {
                Some(c) => self.lower_sized(cx, c, limit),
                None => Err(Failed::Reported),
            };
            self.defs[i].cond = cond;
            self.stack.pop();
            let def = &self.defs[i];
            let here = format!("segments.{}", def.name);
            let done = match lowered {
                Ok(l) => {
                    self.budget.spend(l.nodes);
                    Some(l)
                }
                Err(Failed::Reported) => None,
                Err(Failed::TooDeep) => {
                    cx.error(
                        def.pos,
                        &here,
                        format!(
                            "segment '{}' nests deeper than {MAX_DEPTH} levels with the segments it uses inlined",
                            def.name
                        ),
                    );
                    None
                }
                Err(Failed::TooLarge) => {
                    cx.error(def.pos, &here, self.budget.over_limit_message("segments"));
                    self.budget.spend(limit.saturating_add(1));
                    None
                }
            };
            self.state[i] = State::Done(done);
        }
        match &self.state[i] {
            State::Done(lowered) => lowered.as_ref(),
            State::Pending | State::InProgress => None,
        }
    }

    /// Lowers a rule's condition (written at `at`, document path `path`) to
    /// an expression, inlining segments. `None` when it references an
    /// unknown segment or a cycle (reported), a segment whose own condition
    /// has errors (reported where that segment is), or is deeper or larger
    /// than the limits (reported here).
    pub fn lower(&mut self, cx: &mut Cx, cond: &Cond, at: Pos, path: &str) -> Option<Expr> {
        if self.budget.is_spent() {
            // The file is refused already (where the allowance ran out);
            // only resolve the references, for their own errors.
            self.resolve_only(cx, cond);
            return None;
        }
        let limit = self.budget.condition_limit();
        match self.lower_sized(cx, cond, limit) {
            Ok(l) => {
                self.budget.spend(l.nodes);
                Some(l.expr)
            }
            Err(Failed::Reported) => None,
            Err(Failed::TooDeep) => {
                cx.error(
                    at,
                    path,
                    format!(
                        "the condition nests deeper than {MAX_DEPTH} levels with its segments inlined"
                    ),
                );
                None
            }
            Err(Failed::TooLarge) => {
                cx.error(at, path, self.budget.over_limit_message("segments"));
                self.budget.spend(limit.saturating_add(1));
                None
            }
        }
    }

    /// Marks the segments `cond` references as used and reports unknown
    /// ones, without building anything.
    fn resolve_only(&mut self, cx: &mut Cx, cond: &Cond) {
        match cond {
            Cond::Test(..) => {}
            Cond::Not(inner) => self.resolve_only(cx, inner),
            Cond::All(items) | Cond::Any(items) => {
                for c in items {
                    self.resolve_only(cx, c);
                }
            }
            Cond::Segment(r) => match self.index.get(&r.name) {
                Some(&i) => self.used[i] = true,
                None => self.unknown(cx, r),
            },
        }
    }

    /// Lowers a condition of at most `max_nodes` nodes. Sizes are added up
    /// as the parts arrive, so a condition over the limit is dropped after
    /// at most one part more than the limit was built.
    fn lower_sized(
        &mut self,
        cx: &mut Cx,
        cond: &Cond,
        max_nodes: usize,
    ) -> Result<Lowered, Failed> {
        let lowered = match cond {
            Cond::Test(path, test) => test_node(path, test),
            Cond::Not(inner) => {
                let inner = self.lower_sized(cx, inner, max_nodes)?;
                Lowered {
                    depth: inner.depth + 1,
                    nodes: inner.nodes + 1,
                    expr: Expr::Op(Op::Not, vec![inner.expr]),
                }
            }
            Cond::All(items) => self.lower_list(cx, items, Op::And, max_nodes)?,
            Cond::Any(items) => self.lower_list(cx, items, Op::Or, max_nodes)?,
            Cond::Segment(r) => self.reference(cx, r, max_nodes)?,
        };
        if lowered.depth > MAX_DEPTH {
            Err(Failed::TooDeep)
        } else if lowered.nodes > max_nodes {
            Err(Failed::TooLarge)
        } else {
            Ok(lowered)
        }
    }

    fn lower_list(
        &mut self,
        cx: &mut Cx,
        items: &[Cond],
        op: Op,
        max_nodes: usize,
    ) -> Result<Lowered, Failed> {
        let mut parts = Vec::with_capacity(items.len());
        let (mut depth, mut nodes) = (0, 1);
        let mut reported = false;
        for c in items {
            match self.lower_sized(cx, c, max_nodes) {
                // After a failure the other parts are still lowered, for
                // their own errors, but no longer kept.
                Ok(_) if reported => {}
                Ok(l) => {
                    depth = depth.max(l.depth + 1);
                    nodes += l.nodes;
                    if nodes > max_nodes {
                        return Err(Failed::TooLarge);
                    }
                    parts.push(l);
                }
                Err(Failed::Reported) => reported = true,
                Err(other) => return Err(other),
            }
        }
        if reported {
            return Err(Failed::Reported);
        }
        if parts.len() == 1 {
            if let Some(only) = parts.pop() {
                return Ok(only);
            }
        }
        Ok(Lowered {
            expr: Expr::Op(op, parts.into_iter().map(|l| l.expr).collect()),
            depth,
            nodes,
        })
    }

    fn unknown(&self, cx: &mut Cx, r: &SegmentRef) {
        let names: Vec<&str> = self.defs.iter().map(|d| d.name.as_str()).collect();
        let hint = match suggest(&r.name, &names) {
            Some(s) => format!("; did you mean '{s}'?"),
            None if names.is_empty() => "; define it under `segments:`".to_owned(),
            None => format!("; segments: {}", names.join(", ")),
        };
        cx.error(
            r.pos,
            &r.path,
            format!("unknown segment '{}'{hint}", r.name),
        );
    }

    fn reference(
        &mut self,
        cx: &mut Cx,
        r: &SegmentRef,
        max_nodes: usize,
    ) -> Result<Lowered, Failed> {
        let Some(&i) = self.index.get(&r.name) else {
            self.unknown(cx, r);
            return Err(Failed::Reported);
        };
        self.used[i] = true;
        if let Some(start) = self.stack.iter().position(|&s| s == i) {
            let mut names: Vec<&str> = self.stack[start..]
                .iter()
                .map(|&s| self.defs[s].name.as_str())
                .collect();
            names.push(&r.name);
            cx.error(
                r.pos,
                &r.path,
                format!("segment cycle: {}", names.join(" → ")),
            );
            return Err(Failed::Reported);
        }
        if self.stack.len() >= MAX_DEPTH && matches!(self.state[i], State::Pending) {
            // Reported at the first place only: a long chain would
            // otherwise be reported every MAX_DEPTH segments.
            if !self.nesting_reported {
                self.nesting_reported = true;
                cx.error(
                    r.pos,
                    &r.path,
                    format!(
                        "segments nest more than {MAX_DEPTH} deep here (a segment using a \
                         segment using a segment ...); use fewer levels"
                    ),
                );
            }
            return Err(Failed::Reported);
        }
        match self.segment(cx, i) {
            // Sizes first: a copy is made only when it fits.
            Some(l) if l.depth > MAX_DEPTH => Err(Failed::TooDeep),
            Some(l) if l.nodes > max_nodes => Err(Failed::TooLarge),
            Some(l) => Ok(l.clone()),
            None => Err(Failed::Reported),
        }
    }
}

/// A typed test as a node: its depth and size are those of its encoding
/// (the operand's literal data included), which is what the snapshot holds.
fn test_node(path: &Path, test: &Test) -> Lowered {
    let (depth, nodes) = match serde_json::to_value(test) {
        Ok(v) => (data_depth(&v), data_size(&v)),
        Err(_) => (1, 1),
    };
    Lowered {
        expr: Expr::Test(path.clone(), test.clone()),
        depth,
        nodes,
    }
}
