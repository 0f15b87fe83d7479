//! Evaluator tests. Expressions are written in their serialised IR shape
//! (`{"o": [op, args]}`, `{"v": path}`, `{"l": literal}`, ...), so these
//! tests also pin the snapshot encoding of expressions.

use serde_json::{json, Value};

use super::*;
use crate::bucket::murmur3_32;
use crate::space::BucketCache;

fn expr(ir: Value) -> Expr {
    serde_json::from_value(ir.clone()).unwrap_or_else(|e| panic!("bad IR {ir}: {e}"))
}

/// Evaluates `ir` against `data` with flag key `flag`.
fn eval_with(ir: Value, data: &Value, flag: &str) -> Value {
    let context = Context::empty(0);
    let buckets = BucketCache::new(&context, &[]);
    let env = Env {
        data: Data::Value(data),
        now: 1_700_000_000,
        flag_key: flag,
        buckets: &buckets,
        sticky: None,
        undecided: None,
    };
    expr(ir).eval(&env).into_owned()
}

fn eval(ir: Value, data: &Value) -> Value {
    eval_with(ir, data, "flag")
}

fn op(name: &str, args: Value) -> Value {
    json!({ "o": [name, args] })
}

fn var(path: &str) -> Value {
    if path.is_empty() {
        json!({ "v": [] })
    } else {
        json!({ "v": path.split('.').collect::<Vec<_>>() })
    }
}

fn lit(v: Value) -> Value {
    json!({ "l": v })
}

#[test]
fn env_from_context_reads_object_time_and_key() {
    let context = Context::from_json(r#"{"targetingKey":"u1","plan":"pro"}"#, 42).unwrap();
    let buckets = BucketCache::new(&context, &[]);
    let env = Env::new(&buckets, "checkout");
    assert_eq!(env.now, 42);
    assert_eq!(env.flag_key, "checkout");
    assert_eq!(expr(var("plan")).eval(&env).as_ref(), &json!("pro"));
    assert_eq!(expr(json!("fk")).eval(&env).as_ref(), &json!("checkout"));
    assert_eq!(expr(json!("ts")).eval(&env).as_ref(), &json!(42));
}

#[test]
fn var_follows_json_logic_js() {
    let data = json!({"a": {"b": null, "list": [10, 20]}, "n": null});
    assert_eq!(eval(var("a.list.1"), &data), json!(20));
    // Array indexes are canonical decimals, as JavaScript property names.
    assert_eq!(eval(var("a.list.01"), &data), Value::Null);
    // A null member is returned as null, not replaced by the default ...
    assert_eq!(
        eval(json!({"vd": [["a", "b"], lit(json!(7))]}), &data),
        json!(null)
    );
    // ... but anything below a null is missing and takes the default.
    assert_eq!(
        eval(json!({"vd": [["n", "x"], lit(json!(7))]}), &data),
        json!(7)
    );
    assert_eq!(
        eval(json!({"vd": [["zz"], lit(json!(7))]}), &data),
        json!(7)
    );
    assert_eq!(eval(var(""), &data), data);
    // Computed paths: numbers read as JavaScript writes them, null is the whole data.
    let list = json!(["x", ["y", "z"]]);
    assert_eq!(eval(json!({"vx": [lit(json!(1.1))]}), &list), json!("z"));
    assert_eq!(eval(json!({"vx": [lit(json!(null))]}), &list), list);
    assert_eq!(
        eval(json!({"vx": [lit(json!("q")), lit(json!("dflt"))]}), &list),
        json!("dflt")
    );
}

#[test]
fn flagd_properties_are_answered_by_the_evaluator() {
    let data = json!({"$flagd": {"flagKey": "spoofed"}});
    assert_eq!(eval_with(json!("fk"), &data, "my-flag"), json!("my-flag"));
    assert_eq!(eval(json!("ts"), &data), json!(1_700_000_000));
    assert_eq!(
        eval_with(json!({"vx": [lit(json!("$flagd"))]}), &data, "my-flag"),
        json!({"flagKey": "my-flag", "timestamp": 1_700_000_000})
    );
    assert_eq!(
        eval_with(json!({"vx": [lit(json!("$flagd.flagKey"))]}), &data, "k"),
        json!("k")
    );
    assert_eq!(
        eval(
            json!({"vx": [lit(json!("$flagd.nope")), lit(json!(0))]}),
            &data
        ),
        json!(0)
    );
}

#[test]
fn absent_arguments_act_as_undefined() {
    let data = json!({});
    assert_eq!(
        eval(op("==", json!([lit(json!(null))])), &data),
        json!(true)
    );
    assert_eq!(
        eval(op("===", json!([lit(json!(null))])), &data),
        json!(false)
    );
    assert_eq!(eval(op("===", json!([])), &data), json!(true));
    assert_eq!(eval(op("<", json!([lit(json!(-1))])), &data), json!(false));
    assert_eq!(eval(op("!", json!([])), &data), json!(true));
    assert_eq!(eval(op("and", json!([])), &data), Value::Null);
    assert_eq!(eval(op("-", json!([])), &data), Value::Null);
    assert_eq!(eval(op("*", json!([])), &data), Value::Null);
    assert_eq!(eval(op("+", json!([])), &data), json!(0));
    assert_eq!(eval(op("min", json!([])), &data), Value::Null);
}

#[test]
fn logic_is_lazy() {
    // The untaken branches would divide by zero or fail; they are never evaluated,
    // which the result shows because `or` returns the first truthy value itself.
    let data = json!({"x": 0});
    let rule = op(
        "or",
        json!([
            var("x"),
            lit(json!("first")),
            op("/", json!([lit(json!(1)), lit(json!(0))]))
        ]),
    );
    assert_eq!(eval(rule, &data), json!("first"));
    let rule = op("and", json!([var("x"), lit(json!("never"))]));
    assert_eq!(eval(rule, &data), json!(0));
}

#[test]
fn comparisons_coerce_like_javascript() {
    let data = json!({"age": "42", "tags": ["a"]});
    let cases = [
        (
            op("<", json!([lit(json!(10)), var("age"), lit(json!(50))])),
            true,
        ),
        (
            op("<=", json!([lit(json!(42)), var("age"), lit(json!(42))])),
            true,
        ),
        (op(">", json!([lit(json!("b")), lit(json!("a"))])), true),
        (op(">", json!([lit(json!("b")), lit(json!(1))])), false),
        (op("==", json!([var("tags"), lit(json!("a"))])), true),
        (op("!=", json!([lit(json!(0)), lit(json!(false))])), false),
        (op("!==", json!([lit(json!(0)), lit(json!(false))])), true),
    ];
    for (rule, expect) in cases {
        assert_eq!(eval(rule.clone(), &data), json!(expect), "{rule}");
    }
}

#[test]
fn in_set_needs_a_string_needle() {
    let set = json!({"is": [var("country"), ["AT", "CH", "DE"]]});
    assert_eq!(eval(set.clone(), &json!({"country": "DE"})), json!(true));
    assert_eq!(eval(set.clone(), &json!({"country": "FR"})), json!(false));
    assert_eq!(eval(set.clone(), &json!({"country": ["DE"]})), json!(false));
    assert_eq!(eval(set, &json!({})), json!(false));
    // General `in`: substring of a string (needle as a string), strict array membership.
    let data = json!({});
    assert_eq!(
        eval(op("in", json!([lit(json!(1)), lit(json!("x1"))])), &data),
        json!(true)
    );
    assert_eq!(
        eval(op("in", json!([lit(json!(1)), lit(json!(["1"]))])), &data),
        json!(false)
    );
    assert_eq!(
        eval(op("in", json!([lit(json!("")), lit(json!(""))])), &data),
        json!(false)
    );
}

#[test]
fn substr_counts_characters() {
    let data = json!({"s": "häßlich"});
    let sub = |args: Value| eval(op("substr", args), &data);
    assert_eq!(
        sub(json!([var("s"), lit(json!(1)), lit(json!(3))])),
        json!("äßl")
    );
    assert_eq!(sub(json!([var("s"), lit(json!(-4))])), json!("lich"));
    assert_eq!(
        sub(json!([var("s"), lit(json!(1)), lit(json!(-4))])),
        json!("äß")
    );
    assert_eq!(sub(json!([var("s"), lit(json!(99))])), json!(""));
    assert_eq!(
        sub(json!([var("s"), lit(json!(2)), lit(json!(null))])),
        json!("")
    );
    assert_eq!(sub(json!([lit(json!(null))])), json!("null"));
}

#[test]
fn cat_and_arithmetic_format_numbers_like_javascript() {
    let data = json!({});
    let cat = op(
        "cat",
        json!([
            lit(json!(1.0)),
            lit(json!(0.5)),
            lit(json!(null)),
            lit(json!([1, 2]))
        ]),
    );
    assert_eq!(eval(cat, &data), json!("10.51,2"));
    assert_eq!(
        eval(op("+", json!([lit(json!(0.1)), lit(json!(0.2))])), &data),
        json!(0.30000000000000004)
    );
    assert_eq!(
        eval(op("+", json!([lit(json!("12px")), lit(json!(1))])), &data),
        json!(13)
    );
    assert_eq!(
        eval(op("-", json!([lit(json!("12px")), lit(json!(1))])), &data),
        Value::Null
    );
    assert_eq!(
        eval(op("/", json!([lit(json!(1)), lit(json!(0))])), &data),
        Value::Null
    );
    assert_eq!(
        eval(op("%", json!([lit(json!(-7)), lit(json!(3))])), &data),
        json!(-1)
    );
    assert_eq!(
        eval(op("*", json!([lit(json!(1.5)), lit(json!(2))])), &data),
        json!(3)
    );
    assert_eq!(
        eval(op("max", json!([lit(json!(1)), lit(json!("x"))])), &data),
        Value::Null
    );
}

#[test]
fn missing_treats_null_and_empty_string_as_missing() {
    let data = json!({"a": "", "b": null, "c": 0, "d": {"e": false}});
    let rule = op("missing", json!([lit(json!(["a", "b", "c", "d.e", "f"]))]));
    assert_eq!(eval(rule, &data), json!(["a", "b", "f"]));
    let rule = op(
        "missing_some",
        json!([lit(json!(2)), lit(json!(["a", "c", "d.e"]))]),
    );
    assert_eq!(eval(rule, &data), json!([]));
    let rule = op(
        "missing_some",
        json!([lit(json!(3)), lit(json!(["a", "c", "d.e"]))]),
    );
    assert_eq!(eval(rule, &data), json!(["a"]));
}

#[test]
fn iteration_rebinds_the_data() {
    let data = json!({"xs": [1, 2, 3], "k": 10});
    let double = op("*", json!([var(""), lit(json!(2))]));
    assert_eq!(
        eval(op("map", json!([var("xs"), double])), &data),
        json!([2, 4, 6])
    );
    let sum = op("+", json!([var("current"), var("accumulator")]));
    assert_eq!(
        eval(op("reduce", json!([var("xs"), sum, var("k")])), &data),
        json!(16)
    );
    // A non-array gives the initial value; a missing initial value is null.
    let sum = op("+", json!([var("current"), var("accumulator")]));
    assert_eq!(
        eval(op("reduce", json!([var("k"), sum])), &data),
        Value::Null
    );
}

#[test]
fn reduce_refuses_to_grow_without_bound() {
    // Doubling the accumulator 40 times would need 2^40 elements.
    let data = json!({"xs": vec![0; 40]});
    let double = op("merge", json!([var("accumulator"), var("accumulator")]));
    let rule = op("reduce", json!([var("xs"), double, lit(json!([1]))]));
    assert_eq!(eval(rule, &data), Value::Null);
    // Nesting one level per element stops at the depth bound.
    let data = json!({"xs": vec![0; 500]});
    let wrap = json!({"a": [var("accumulator")]});
    let rule = op("reduce", json!([var("xs"), wrap, lit(json!(0))]));
    assert_eq!(eval(rule, &data), Value::Null);
}

// ---- flagd operators ----------------------------------------------------

/// `fractional` over `[{"var": "targetingKey"}, [lower, 50], [upper, 50]]`.
fn half_split() -> Value {
    op(
        "fractional",
        json!([
            var("targetingKey"),
            lit(json!(["lower", 50])),
            lit(json!(["upper", 50]))
        ]),
    )
}

#[test]
fn fractional_puts_the_design_boundary_keys_on_the_right_side() {
    // Boundary keys (docs/rules.md, "Splits"; MurmurHash3 x86_32, seed 0): hashes 0, 1, 2^31-1 fall below the 50/50 cut; 2^31, 2^32-1 above.
    let keys = ["ejOoVL", "bY9fO-", "SI7p-", "6LvT0", "ceQdGm"];
    let expect = ["lower", "lower", "lower", "upper", "upper"];
    for (key, side) in keys.iter().zip(expect) {
        let data = json!({ "targetingKey": key });
        assert_eq!(eval(half_split(), &data), json!(side), "{key} via var");
        // Without a bucketing expression the string is flag key + targeting
        // key; with the empty flag key that is the key alone.
        let implicit = op(
            "fractional",
            json!([lit(json!(["lower", 50])), lit(json!(["upper", 50]))]),
        );
        assert_eq!(
            eval_with(implicit, &data, ""),
            json!(side),
            "{key} implicit"
        );
    }
}

#[test]
fn fractional_matches_the_flagd_testbed() {
    // evaluator-vectors.json, fractional/0/1/*: bucketing by flag key + user name.
    let rule = op(
        "fractional",
        json!([
            op("cat", json!([json!("fk"), var("user.name")])),
            lit(json!(["clubs", 25])),
            lit(json!(["diamonds", 25])),
            lit(json!(["hearts", 25])),
            lit(json!(["spades", 25]))
        ]),
    );
    for (name, card) in [
        ("jack", "hearts"),
        ("queen", "spades"),
        ("ten", "clubs"),
        ("nine", "diamonds"),
        ("3", "clubs"),
    ] {
        let data = json!({"user": {"name": name}});
        assert_eq!(
            eval_with(rule.clone(), &data, "fractional-flag"),
            json!(card),
            "{name}"
        );
    }
    // fractional/1/1/*: shorthand entries, implicit bucketing, weight 1 by default.
    let shorthand = op(
        "fractional",
        json!([lit(json!(["heads"])), lit(json!(["tails", 1]))]),
    );
    for (key, side) in [("jon@company.com", "heads"), ("jane@company.com", "tails")] {
        let data = json!({ "targetingKey": key });
        assert_eq!(
            eval_with(shorthand.clone(), &data, "fractional-flag-shorthand"),
            json!(side)
        );
    }
    // fractional/13/0/0: a negative weight counts as zero.
    let negative = op(
        "fractional",
        json!([
            var("targetingKey"),
            lit(json!(["one", -50])),
            lit(json!(["two", 100]))
        ]),
    );
    assert_eq!(
        eval(negative, &json!({"targetingKey": "any-user"})),
        json!("two")
    );
}

#[test]
fn fractional_evaluates_nested_variants_and_weights() {
    // fractional/8/0/*: the weight of "red" is 100 for premium users, else 0.
    let rule = op(
        "fractional",
        json!([
            var("targetingKey"),
            {"a": [lit(json!("red")), op("if", json!([op("==", json!([var("tier"), lit(json!("premium"))])), lit(json!(100)), lit(json!(0))]))]},
            lit(json!(["blue", 10]))
        ]),
    );
    for key in ["jon@company.com", "user1"] {
        assert_eq!(
            eval(
                rule.clone(),
                &json!({"targetingKey": key, "tier": "premium"})
            ),
            json!("red")
        );
        assert_eq!(
            eval(rule.clone(), &json!({"targetingKey": key, "tier": "basic"})),
            json!("blue")
        );
    }
    // Boolean variants (fractional as a condition), and a variant from the context.
    let condition = op(
        "fractional",
        json!([lit(json!([false, 0])), lit(json!([true, 100]))]),
    );
    assert_eq!(eval(condition, &json!({"targetingKey": "k"})), json!(true));
    let from_context = op(
        "fractional",
        json!([lit(json!("seed")), {"a": [var("color")]}]),
    );
    assert_eq!(eval(from_context, &json!({"color": "red"})), json!("red"));
}

#[test]
fn fractional_returns_null_on_bad_input() {
    let entries = json!([lit(json!(["a", 1])), lit(json!(["b", 1]))]);
    let with_first = |first: Value| {
        let mut args = vec![first];
        args.extend(entries.as_array().unwrap().iter().cloned());
        op("fractional", Value::Array(args))
    };
    let data = json!({"targetingKey": "user-1", "n": 5, "o": {}});
    let bad = [
        ("no arguments", op("fractional", json!([]))),
        ("numeric bucketing value", with_first(var("n"))),
        ("object bucketing value", with_first(var("o"))),
        ("missing bucketing value", with_first(var("absent"))),
        (
            "entry not an array",
            op("fractional", json!([lit(json!("s")), lit(json!("a"))])),
        ),
        (
            "empty entry",
            op("fractional", json!([lit(json!("s")), lit(json!([]))])),
        ),
        (
            "object variant",
            op("fractional", json!([lit(json!("s")), lit(json!([{}, 1]))])),
        ),
        (
            "string weight",
            op(
                "fractional",
                json!([lit(json!("s")), lit(json!(["a", "1"]))]),
            ),
        ),
        (
            "fractional weight",
            op(
                "fractional",
                json!([lit(json!("s")), lit(json!(["a", 0.5]))]),
            ),
        ),
        (
            "all weights zero",
            op(
                "fractional",
                json!([lit(json!("s")), lit(json!(["a", 0])), lit(json!(["b", -3]))]),
            ),
        ),
        ("no entries", op("fractional", json!([lit(json!("s"))]))),
        (
            "total over i32::MAX",
            op(
                "fractional",
                json!([
                    lit(json!("s")),
                    lit(json!(["a", 2147483647])),
                    lit(json!(["b", 1]))
                ]),
            ),
        ),
        (
            "bad entry after a good one",
            op(
                "fractional",
                json!([lit(json!("s")), lit(json!(["a", 1])), lit(json!(7))]),
            ),
        ),
    ];
    for (what, rule) in bad {
        assert_eq!(eval(rule, &data), Value::Null, "{what}");
    }
    // Without a bucketing value the targeting key must be a string.
    let implicit = op("fractional", entries.clone());
    assert_eq!(eval(implicit.clone(), &json!({})), Value::Null);
    assert_eq!(eval(implicit, &json!({"targetingKey": 5})), Value::Null);
    // The largest total is accepted, and null / whole-float weights are valid.
    let max = op(
        "fractional",
        json!([lit(json!("s")), lit(json!(["a", 2147483647]))]),
    );
    assert_eq!(eval(max, &data), json!("a"));
    let forms = op(
        "fractional",
        json!([
            lit(json!("s")),
            lit(json!(["a", null])),
            lit(json!(["b", 2.0]))
        ]),
    );
    assert!(matches!(eval(forms, &data).as_str(), Some("a" | "b")));
}

#[test]
fn fractional_bucket_arithmetic_is_hash_times_total_shifted() {
    // With weights 1,1,1,1 the bucket is the top two bits of the hash.
    let rule = op(
        "fractional",
        json!([
            var("k"),
            lit(json!([0, 1])),
            lit(json!([1, 1])),
            lit(json!([2, 1])),
            lit(json!([3, 1]))
        ]),
    );
    for key in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] {
        let expect = murmur3_32(&[key.as_bytes()]) >> 30;
        assert_eq!(
            eval(rule.clone(), &json!({ "k": key })),
            json!(expect),
            "{key}"
        );
    }
}

/// `sem_ver` of `version` (context attribute) against a literal.
fn sem_ver(version: Value, operator: &str, target: &str) -> Value {
    let rule = op(
        "sem_ver",
        json!([var("version"), lit(json!(operator)), lit(json!(target))]),
    );
    eval(rule, &json!({ "version": version }))
}

#[test]
fn sem_ver_matches_the_flagd_testbed() {
    // evaluator-vectors.json, feature "semver": each row's flag rule turned into
    // the sem_ver outcomes that select the expected variant.
    let rows: [(Value, &str, &str, Value); 36] = [
        // semver/0: = > < against 2.0.0
        (json!("2.0.0"), "=", "2.0.0", json!(true)),
        (json!("2.1.0"), "=", "2.0.0", json!(false)),
        (json!("2.1.0"), ">", "2.0.0", json!(true)),
        (json!("1.9.0"), ">", "2.0.0", json!(false)),
        (json!("1.9.0"), "<", "2.0.0", json!(true)),
        (json!("2.0.0-alpha"), "=", "2.0.0", json!(false)),
        (json!("2.0.0-alpha"), ">", "2.0.0", json!(false)),
        (json!("2.0.0-alpha"), "<", "2.0.0", json!(true)),
        (json!("2.0.0.0"), "=", "2.0.0", Value::Null),
        (json!("2.0.0.0"), ">", "2.0.0", Value::Null),
        (json!("2.0.0.0"), "<", "2.0.0", Value::Null),
        // semver/1: ~ then ^ against 3.0.0
        (json!("3.0.1"), "~", "3.0.0", json!(true)),
        (json!("3.1.0"), "~", "3.0.0", json!(false)),
        (json!("3.1.0"), "^", "3.0.0", json!(true)),
        (json!("4.0.0"), "^", "3.0.0", json!(false)),
        // semver/2: invalid version, invalid operator
        (json!("not-a-version"), "=", "1.0.0", Value::Null),
        (json!("1.0.0"), "===", "1.0.0", Value::Null),
        // semver/3: v prefix on the rule side and the context side
        (json!("1.0.0"), "=", "v1.0.0", json!(true)),
        (json!("v1.0.0"), "=", "v1.0.0", json!(true)),
        (json!("V1.0.0"), "=", "v1.0.0", json!(true)),
        (json!("2.0.0"), "=", "v1.0.0", json!(false)),
        // semver/4: partial versions and numbers against ^1
        (json!("1.5.0"), "^", "1", json!(true)),
        (json!("1.0"), "^", "1", json!(true)),
        (json!("1"), "^", "1", json!(true)),
        (json!(1), "^", "1", json!(true)),
        (json!(1.0), "^", "1", json!(true)),
        (json!(1.2), "^", "1", json!(true)),
        (json!("2.0.0"), "^", "1", json!(false)),
        // semver/5: numeric context against > 1.1
        (json!(1.2), ">", "1.1", json!(true)),
        (json!(1.1), ">", "1.1", json!(false)),
        (json!(2), ">", "1.1", json!(true)),
        (json!(1), ">", "1.1", json!(false)),
        (json!("1.2"), ">", "1.1", json!(true)),
        // semver/6: build metadata is ignored
        (json!("1.0.0"), "=", "1.0.0+build", json!(true)),
        (json!("1.0.0+other"), "=", "1.0.0+build", json!(true)),
        (json!("2.0.0"), "=", "1.0.0+build", json!(false)),
    ];
    for (version, operator, target, expect) in rows {
        assert_eq!(
            sem_ver(version.clone(), operator, target),
            expect,
            "{version} {operator} {target}"
        );
    }
}

#[test]
fn sem_ver_returns_null_on_bad_input() {
    let data = json!({"version": "1.0.0", "flag": true});
    let bad = [
        // semver/7: two arguments
        op("sem_ver", json!([var("version"), lit(json!("="))])),
        op(
            "sem_ver",
            json!([
                var("version"),
                lit(json!("=")),
                lit(json!("1.0.0")),
                lit(json!(1))
            ]),
        ),
        op(
            "sem_ver",
            json!([var("version"), lit(json!(1)), lit(json!("1.0.0"))]),
        ),
        op(
            "sem_ver",
            json!([var("version"), lit(json!("==")), lit(json!("1.0.0"))]),
        ),
        op(
            "sem_ver",
            json!([var("flag"), lit(json!("=")), lit(json!("1.0.0"))]),
        ),
        op(
            "sem_ver",
            json!([var("absent"), lit(json!("=")), lit(json!("1.0.0"))]),
        ),
        op(
            "sem_ver",
            json!([var("version"), lit(json!(">=")), lit(json!("1.2-beta"))]),
        ),
        op(
            "sem_ver",
            json!([var("version"), lit(json!("<")), lit(json!(0.00001))]),
        ),
    ];
    for rule in bad {
        assert_eq!(eval(rule.clone(), &data), Value::Null, "{rule}");
    }
    assert_eq!(sem_ver(json!("1.2.3"), "!=", "1.2.4"), json!(true));
    assert_eq!(sem_ver(json!("1.2.3"), "<=", "1.2.3"), json!(true));
    assert_eq!(sem_ver(json!("1.2.3"), ">=", "1.2.4"), json!(false));
}

#[test]
fn starts_with_and_ends_with_need_two_strings() {
    let data = json!({"id": "abcxyz", "num": 123});
    let t = |name: &str, args: Value| eval(op(name, args), &data);
    assert_eq!(
        t("starts_with", json!([var("id"), lit(json!("abc"))])),
        json!(true)
    );
    assert_eq!(
        t("starts_with", json!([var("id"), lit(json!("xyz"))])),
        json!(false)
    );
    assert_eq!(
        t("ends_with", json!([var("id"), lit(json!("xyz"))])),
        json!(true)
    );
    assert_eq!(
        t("ends_with", json!([var("id"), lit(json!("ABC"))])),
        json!(false)
    );
    // string/1 and string/2 of the flagd testbed, and more bad input.
    for name in ["starts_with", "ends_with"] {
        assert_eq!(t(name, json!([var("num"), lit(json!("1"))])), Value::Null);
        assert_eq!(t(name, json!([lit(json!("abc"))])), Value::Null);
        assert_eq!(t(name, json!([var("id"), lit(json!(null))])), Value::Null);
        assert_eq!(
            t(name, json!([var("id"), lit(json!("a")), lit(json!("b"))])),
            Value::Null
        );
    }
}

#[test]
fn holds_is_the_truthiness_of_the_value() {
    let test = |t: Value| json!({"t": [["email"], t]});
    let suffix = test(json!({"ew": "@shop.example"}));
    let exists = test(json!("ex"));
    let set = json!({"is": [var("email"), ["a@shop.example", "b@x.example"]]});
    let exprs = [
        suffix.clone(),
        set.clone(),
        op("and", json!([])),
        op("or", json!([])),
        op("and", json!([suffix.clone(), set.clone()])),
        op("and", json!([suffix.clone(), var("n")])),
        op("or", json!([lit(json!(0)), set.clone(), var("n")])),
        op("or", json!([var("n"), lit(json!(""))])),
        op("!", json!([])),
        op(
            "!",
            json!([op("or", json!([suffix.clone(), exists.clone()]))]),
        ),
        op("!!", json!([])),
        op("!!", json!([var("tags")])),
        op("!!", json!([op("and", json!([exists, var("n")]))])),
        var("n"),
    ];
    for data in [
        json!({}),
        json!({"email": "a@shop.example", "n": 2, "tags": []}),
        json!({"email": "b@x.example", "n": 0, "tags": ["x"]}),
        json!({"email": 5, "n": "0"}),
    ] {
        let context = Context::empty(0);
        let buckets = BucketCache::new(&context, &[]);
        let env = Env {
            data: Data::Value(&data),
            now: 0,
            flag_key: "f",
            buckets: &buckets,
            sticky: None,
            undecided: None,
        };
        for ir in &exprs {
            let e = expr(ir.clone());
            assert_eq!(e.holds(&env), truthy(&e.eval(&env)), "{ir} on {data}");
        }
    }
}
