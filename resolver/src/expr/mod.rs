//! Compiled expressions: the condition and targeting language of the IR.
//!
//! One tree type serves both dialects. flagd targeting compiles to JsonLogic
//! operators ([`Op`]) with JsonLogic's loose equality and truthiness and the
//! flagd operators (`fractional`, `sem_ver`, `starts_with`, `ends_with`, which
//! return `null` on bad input, as flagd core defines them). Vane conditions
//! compile to typed attribute tests ([`Test`]) combined with `and`/`or`/`!`.
//! The builder pre-computes what it can (paths split into segments, literal
//! string sets sorted), so evaluation does no parsing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::space::{BucketBitmap, BucketRanges};

pub mod criterion;
mod eval;
mod member;
mod strset;
pub mod typed;

pub use criterion::Criterion;
pub use eval::number_to_js_string;
pub use eval::{truthy, Data, Env, Undecided};
pub use member::{Bloom, Member};
pub use strset::StrSet;
pub use typed::Test;

/// A context path split into segments: `"user.plan"` → `["user", "plan"]`.
pub type Path = Vec<String>;

/// A compiled expression node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A literal JSON value.
    #[serde(rename = "l")]
    Lit(Value),
    /// `{"var": "a.b"}`: the value at a path known at build time; `null` when
    /// missing. The empty path is the whole data (the context, or the current
    /// element inside `map`, `filter`, `all`, `none`, `some` and `reduce`).
    #[serde(rename = "v")]
    Var(Path),
    /// `{"var": ["a.b", default]}`: the value at the path, or `default` when
    /// the path is missing (as in json-logic-js: a member that is absent or
    /// below a `null`; a member that is itself `null` yields `null`).
    #[serde(rename = "vd")]
    VarOr(Path, Box<Expr>),
    /// `var` whose arguments are computed at evaluation time:
    /// `[path expression, optional default]`. The path is any value read as a
    /// JavaScript string (`1` → `"1"`), `null` or `""` meaning the whole
    /// data; `$flagd`, `$flagd.flagKey` and `$flagd.timestamp` are answered
    /// by the evaluator.
    #[serde(rename = "vx")]
    VarDyn(Vec<Expr>),
    /// flagd's `$flagd.flagKey`: the key of the flag being evaluated.
    #[serde(rename = "fk")]
    FlagKey,
    /// flagd's `$flagd.timestamp`: the evaluation time in Unix seconds.
    #[serde(rename = "ts")]
    Timestamp,
    /// A JSON array with logic inside (`[1, {"var": "x"}]`): each element is
    /// evaluated. Arrays without logic are [`Expr::Lit`].
    #[serde(rename = "a")]
    Array(Vec<Expr>),
    /// An operator applied to unevaluated arguments (lazy operators such as
    /// `if`, `and`, `or` evaluate only what they need).
    #[serde(rename = "o")]
    Op(Op, Vec<Expr>),
    /// `{"in": [x, ["a","b",...]]}` with a literal array of strings: a
    /// [`StrSet`] (sorted, unique, searched by prefix). `in` compares array
    /// members strictly, so only a string `x` can be a member.
    #[serde(rename = "is")]
    InSet(Box<Expr>, StrSet),
    /// A typed Vane test of the attribute at a path.
    #[serde(rename = "t")]
    Test(Path, Test),
    /// A bucket-range test ([`crate::space`]): `true` when the unit's bucket
    /// in the space falls in one of the ranges. A missing or unusable unit
    /// gives `false`, unless the ranges cover every bucket.
    #[serde(rename = "b")]
    InBuckets(BucketRanges),
    /// The same test with the bucket set as a bitmap ([`BucketBitmap`]).
    #[serde(rename = "bm")]
    InBitmap(BucketBitmap),
    /// A converting criterion ([`criterion`]) on the attribute at a path.
    #[serde(rename = "cr")]
    Criterion(Path, Box<Criterion>),
    /// The unit is a member of a named set ([`Member`]).
    #[serde(rename = "m")]
    Member(Box<Member>),
}

impl Expr {
    /// Calls `f` on this node and every node below it, parents first.
    pub fn visit<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        f(self);
        match self {
            Expr::VarOr(_, inner) | Expr::InSet(inner, _) => inner.visit(f),
            Expr::VarDyn(args) | Expr::Array(args) | Expr::Op(_, args) => {
                args.iter().for_each(|a| a.visit(f))
            }
            Expr::Lit(_)
            | Expr::Var(_)
            | Expr::FlagKey
            | Expr::Timestamp
            | Expr::Test(..)
            | Expr::Criterion(..)
            | Expr::Member(_)
            | Expr::InBuckets(_)
            | Expr::InBitmap(_) => {}
        }
    }
}

/// JsonLogic and flagd operators. Serialised by their JsonLogic names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Op {
    #[serde(rename = "if")]
    If,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "===")]
    StrictEq,
    #[serde(rename = "!=")]
    NotEq,
    #[serde(rename = "!==")]
    StrictNotEq,
    #[serde(rename = "!")]
    Not,
    #[serde(rename = "!!")]
    Truthy,
    #[serde(rename = "and")]
    And,
    #[serde(rename = "or")]
    Or,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "in")]
    In,
    #[serde(rename = "missing")]
    Missing,
    #[serde(rename = "missing_some")]
    MissingSome,
    #[serde(rename = "cat")]
    Cat,
    #[serde(rename = "substr")]
    Substr,
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Sub,
    #[serde(rename = "*")]
    Mul,
    #[serde(rename = "/")]
    Div,
    #[serde(rename = "%")]
    Mod,
    #[serde(rename = "min")]
    Min,
    #[serde(rename = "max")]
    Max,
    #[serde(rename = "merge")]
    Merge,
    #[serde(rename = "map")]
    Map,
    #[serde(rename = "filter")]
    Filter,
    #[serde(rename = "reduce")]
    Reduce,
    #[serde(rename = "all")]
    All,
    #[serde(rename = "none")]
    None,
    #[serde(rename = "some")]
    Some,
    #[serde(rename = "fractional")]
    Fractional,
    #[serde(rename = "sem_ver")]
    SemVer,
    #[serde(rename = "starts_with")]
    StartsWith,
    #[serde(rename = "ends_with")]
    EndsWith,
}
