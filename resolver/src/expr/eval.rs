//! Expression evaluation. (Placeholder: being written; see the expr module docs.)

use std::borrow::Cow;

use serde_json::Value;

use super::Expr;
use crate::context::Context;

/// What an expression is evaluated against.
pub struct Env<'a> {
    /// The evaluation context (also carries the evaluation time).
    pub context: &'a Context,
    /// Key of the flag being evaluated (`$flagd.flagKey`).
    pub flag_key: &'a str,
}

impl Expr {
    /// Evaluates the expression. Total: bad input yields `null` or `false`, never a panic.
    pub fn eval<'a>(&'a self, env: &Env<'a>) -> Cow<'a, Value> {
        let _ = env;
        todo!("expression evaluator")
    }
}

/// JsonLogic truthiness: `false`, `null`, `0`, `""` and `[]` are false; everything else is true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}
