//! Segments and lowering: resolves `segment:` references (unknown names,
//! cycles) and turns a [`Cond`] into the resolver's [`Expr`], inlining every
//! segment where it is used.
//!
//! Combinators become JsonLogic operators of the IR: `all` → `and`,
//! `any` → `or`, `not` → `!`; the typed tests evaluate to booleans, so
//! JsonLogic truthiness gives exactly the boolean logic. Each segment is
//! lowered once (memoised) and its errors are reported once, where the
//! segment is defined or where the reference closing a cycle is written.

use std::collections::HashMap;

use vane_resolver::expr::{Expr, Op};

use super::condition::{Cond, SegmentRef};
use super::reader::{suggest, Cx};
use super::yaml::Pos;

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

enum State {
    Pending,
    InProgress,
    /// Lowered; `None` when it has errors.
    Done(Option<Expr>),
}

/// Every segment of the file and the lowering state of each.
pub struct Segments {
    defs: Vec<Definition>,
    index: HashMap<String, usize>,
    state: Vec<State>,
    used: Vec<bool>,
    /// Segments being lowered, innermost last (to name a cycle).
    stack: Vec<usize>,
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

    fn segment(&mut self, cx: &mut Cx, i: usize) -> Option<Expr> {
        match &self.state[i] {
            State::Done(expr) => return expr.clone(),
            State::InProgress => return None,
            State::Pending => {}
        }
        self.state[i] = State::InProgress;
        self.stack.push(i);
        let cond = self.defs[i].cond.take();
        let expr = cond.as_ref().and_then(|c| self.lower(cx, c));
        self.defs[i].cond = cond;
        self.stack.pop();
        self.state[i] = State::Done(expr.clone());
        expr
    }

    /// Lowers a condition to an expression, inlining segments. `None` when
    /// it references an unknown segment or a cycle (reported) or a segment
    /// whose own condition has errors (reported where that segment is).
    pub fn lower(&mut self, cx: &mut Cx, cond: &Cond) -> Option<Expr> {
        match cond {
            Cond::Test(path, test) => Some(Expr::Test(path.clone(), test.clone())),
            Cond::Not(inner) => self.lower(cx, inner).map(|e| Expr::Op(Op::Not, vec![e])),
            Cond::All(items) => self.lower_list(cx, items, Op::And),
            Cond::Any(items) => self.lower_list(cx, items, Op::Or),
            Cond::Segment(r) => self.reference(cx, r),
        }
    }

    fn lower_list(&mut self, cx: &mut Cx, items: &[Cond], op: Op) -> Option<Expr> {
        let lowered: Vec<Option<Expr>> = items.iter().map(|c| self.lower(cx, c)).collect();
        let mut exprs: Vec<Expr> = lowered.into_iter().collect::<Option<_>>()?;
        Some(if exprs.len() == 1 {
            exprs.remove(0)
        } else {
            Expr::Op(op, exprs)
        })
    }

    fn reference(&mut self, cx: &mut Cx, r: &SegmentRef) -> Option<Expr> {
        let Some(&i) = self.index.get(&r.name) else {
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
            return None;
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
            return None;
        }
        self.segment(cx, i)
    }
}
