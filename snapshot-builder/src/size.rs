//! Size limits of compiled conditions, shared by both front ends.
//!
//! The builder expands rules before the snapshot is written (flagd `$ref`s
//! are inlined, Vane segments are inlined wherever they are used), so a few
//! lines of source can describe an expression of any size: references that
//! double at every step, one large literal referenced a thousand times. The
//! limits here keep the builder's time and memory, the resolver's recursion
//! and a snapshot's CBOR nesting small, whatever the source:
//!
//! - a condition nests at most [`MAX_DEPTH`] levels, counting every
//!   operator, array and level of literal data as one;
//! - one condition has at most [`MAX_NODES`] nodes, counting every operator
//!   and every value inside literal data;
//! - all the conditions of one file have at most [`MAX_FILE_NODES`] nodes
//!   together ([`NodeBudget`]), so many medium-sized copies cannot add up
//!   to gigabytes either.

use serde_json::Value;

/// Deepest nesting of one condition (see the module docs for what counts).
pub const MAX_DEPTH: usize = 64;

/// Most nodes one condition may have, references and segments expanded.
pub const MAX_NODES: usize = 100_000;

/// Most nodes all the conditions of one file may have together. A real
/// tenant stays far below (a thousand flags with a thousand-entry allow
/// list each is half of it); the builder then needs at most a few hundred
/// megabytes.
pub const MAX_FILE_NODES: usize = 2_000_000;

/// What is left of one file's [`MAX_FILE_NODES`], spent by its conditions in
/// file order.
#[derive(Debug)]
pub struct NodeBudget {
    remaining: usize,
}

impl NodeBudget {
    /// The whole allowance of one file.
    pub fn for_file() -> Self {
        NodeBudget {
            remaining: MAX_FILE_NODES,
        }
    }

    /// Most nodes the next condition may have: [`MAX_NODES`], or what is
    /// left of the file's allowance when that is less.
    pub fn condition_limit(&self) -> usize {
        MAX_NODES.min(self.remaining)
    }

    /// True once the file's allowance is used up: the file is refused (the
    /// condition that went over says so), and later conditions need not be
    /// expanded at all.
    pub fn is_spent(&self) -> bool {
        self.remaining == 0
    }

    /// Records that a condition of `nodes` nodes was built (or tried).
    pub fn spend(&mut self, nodes: usize) {
        self.remaining = self.remaining.saturating_sub(nodes);
    }

    /// Why a condition of more than [`NodeBudget::condition_limit`] nodes is
    /// refused; `expanded` says what was expanded ("$refs", "segments").
    pub fn over_limit_message(&self, expanded: &str) -> String {
        if self.remaining < MAX_NODES {
            format!(
                "the file's conditions (with their {expanded} expanded) are larger than \
                 {MAX_FILE_NODES} nodes together; this one goes over"
            )
        } else {
            format!("the condition (with its {expanded} expanded) is larger than {MAX_NODES} nodes")
        }
    }
}

/// Nesting of literal data: 1 for a scalar, one more per array or object
/// level. Iterative, so any input is safe.
pub fn data_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            Value::Object(m) => stack.extend(m.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// Number of values in literal data: 1 for a scalar, 1 plus the members of
/// an array or object (recursively). Iterative, so any input is safe.
pub fn data_size(v: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        count += 1;
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_depth_and_size() {
        assert_eq!((data_depth(&json!(1)), data_size(&json!(1))), (1, 1));
        let v = json!({"a": [1, {"b": null}], "c": "x"});
        assert_eq!(data_depth(&v), 4);
        assert_eq!(data_size(&v), 6);
    }

    #[test]
    fn the_budget_is_shared_and_names_the_limit_that_was_hit() {
        let mut b = NodeBudget::for_file();
        assert_eq!(b.condition_limit(), MAX_NODES);
        assert_eq!(
            b.over_limit_message("$refs"),
            "the condition (with its $refs expanded) is larger than 100000 nodes"
        );
        b.spend(MAX_FILE_NODES - 10);
        assert_eq!(b.condition_limit(), 10);
        assert!(!b.is_spent());
        assert_eq!(
            b.over_limit_message("segments"),
            "the file's conditions (with their segments expanded) are larger than 2000000 \
             nodes together; this one goes over"
        );
        b.spend(11);
        assert!(b.is_spent());
    }
}
