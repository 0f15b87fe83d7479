//! The flagd front end through the library's public API: every validation
//! error and warning with its location, many problems in one run, metadata
//! merging, tolerance of unknown fields, variant order and determinism.

use serde_json::{json, Value};
use vane_resolver::{Context, ErrorCode, Reason, Targeting};
use vane_snapshot_builder::{
    build, build_sources, compile, BuildOptions, Compiled, Diagnostic, Format, Severity, Sources,
};

const FILE: &str = "flags.json";

fn compiled(text: &str) -> Compiled {
    compile(FILE, text, Format::Flagd).unwrap_or_else(|d| panic!("expected success, got {d:#?}"))
}

fn problems(text: &str) -> Vec<Diagnostic> {
    match compile(FILE, text, Format::Flagd) {
        Ok(c) => panic!(
            "expected errors, got success with warnings {:#?}",
            c.warnings
        ),
        Err(d) => d,
    }
}

/// `(severity, line, column, flag, JSON path)` of a diagnostic.
type Place<'d> = (Severity, u32, u32, Option<&'d str>, &'d str);

fn place(d: &Diagnostic) -> Place<'_> {
    (
        d.severity,
        d.line.unwrap_or(0),
        d.column.unwrap_or(0),
        d.flag.as_deref(),
        d.path.as_str(),
    )
}

/// Each diagnostic's place and message, in order.
fn located(diagnostics: &[Diagnostic]) -> Vec<(Place<'_>, &str)> {
    diagnostics
        .iter()
        .map(|d| (place(d), d.message.as_str()))
        .collect()
}

/// The one diagnostic of a file that has exactly one.
fn only(diagnostics: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    &diagnostics[0]
}

use Severity::{Error, Warning};

#[test]
fn syntax_error_is_located() {
    let d = problems("{\n  \"flags\": {\n    \"a\": {\"state\": \"ENABLED\",}\n  }\n}");
    let d = only(&d);
    assert_eq!(place(d), (Error, 3, 30, None, ""));
    assert!(
        d.message.starts_with("invalid JSON: trailing comma"),
        "{}",
        d.message
    );
}

#[test]
fn a_byte_order_mark_is_ignored_and_columns_count_after_it() {
    let text = "\u{FEFF}{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": \"on\"}}}";
    assert_eq!(compiled(text).body.flags[0].key, "a");
    let d = problems("\u{FEFF}{\"flags\": {\"a\": {\"state\": 1}}}");
    assert_eq!(place(only(&d)), (Error, 1, 18, Some("a"), "flags.a.state"));
    assert_eq!(Format::detect("flags", text.as_bytes()), Format::Flagd);
}

#[test]
fn a_flag_key_longer_than_the_edge_evaluates_is_a_warning() {
    let key = "k".repeat(257);
    let c = compiled(&format!(
        "{{\"flags\": {{\"{key}\": {{\"state\": \"ENABLED\", \"variants\": {{\"on\": true}}, \"defaultVariant\": \"on\"}}}}}}"
    ));
    let w = only(&c.warnings);
    assert_eq!(
        place(w),
        (
            Warning,
            1,
            12,
            Some(key.as_str()),
            format!("flags.{key}").as_str()
        )
    );
    assert!(
        w.message
            .starts_with("flag key is 257 bytes long; the edge evaluates keys of at most 256"),
        "{}",
        w.message
    );
    assert_eq!(c.body.flags[0].key, key);
}

#[test]
fn duplicate_keys_are_warnings_at_the_second_occurrence_and_the_last_counts() {
    let text = r#"{
  "flags": {
    "a": {"state": "ENABLED", "variants": {"on": true, "on": false}},
    "a": {"state": "DISABLED"}
  }
}"#;
    let c = compiled(text);
    let d = &c.warnings;
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(
        place(&d[0]),
        (Warning, 3, 56, Some("a"), "flags.a.variants.on")
    );
    assert_eq!(
        d[0].message,
        "duplicate key: it already appears at line 3, column 44; only the last counts, as in flagd"
    );
    assert_eq!(place(&d[1]), (Warning, 4, 5, Some("a"), "flags.a"));
    // As Go's encoding/json (flagd) and serde_json read it: the last "a".
    assert_eq!(c.body.flags.len(), 1);
    assert!(c.body.flags[0].disabled);
    assert!(
        d[1].message.contains("line 3, column 5"),
        "{}",
        d[1].message
    );
}

#[test]
fn a_missing_or_unknown_state_is_a_warning_and_the_flag_is_enabled_as_in_flagd() {
    let text = r#"{
  "flags": {
    "no-state": {"variants": {"on": true}},
    "bad-state": {"state": "ON", "variants": {"on": true}}
  }
}"#;
    let c = compiled(text);
    let d = &c.warnings;
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(
        place(&d[0]),
        (Warning, 3, 5, Some("no-state"), "flags.no-state")
    );
    assert_eq!(
        d[0].message,
        r#"state is missing: add "state": "ENABLED" or "DISABLED"; flagd serves the flag as enabled"#
    );
    assert_eq!(
        place(&d[1]),
        (Warning, 4, 19, Some("bad-state"), "flags.bad-state.state")
    );
    assert_eq!(
        d[1].message,
        r#"state should be "ENABLED" or "DISABLED", found "ON"; flagd serves the flag as enabled"#
    );
    assert!(c.body.flags.iter().all(|f| !f.disabled));

    // A state that is not a string makes flagd refuse the file.
    let d = problems(r#"{"flags": {"f": {"state": true}}}"#);
    assert_eq!(place(only(&d)), (Error, 1, 18, Some("f"), "flags.f.state"));
    assert_eq!(
        d[0].message,
        r#"state must be "ENABLED" or "DISABLED", found true"#
    );
}

#[test]
fn mixed_variant_types_are_reported_at_the_odd_variant() {
    let text = r#"{
  "flags": {
    "f": {
      "state": "ENABLED",
      "variants": {
        "on": true,
        "count": 3,
        "off": false
      }
    }
  }
}"#;
    let c = compiled(text);
    let d = only(&c.warnings);
    assert_eq!(
        place(d),
        (Warning, 7, 9, Some("f"), "flags.f.variants.count")
    );
    assert_eq!(
        d.message,
        "variant 'count' is a number but variant 'on' is a boolean: all variants of a flag \
         should have the same type (flagd loads the flag; a typed evaluation of the odd variant \
         fails with TYPE_MISMATCH)"
    );
    assert_eq!(c.body.flags[0].variants[1].value, json!(3));
}

#[test]
fn integer_and_fractional_numbers_are_one_type() {
    let c = compiled(r#"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": 0.5}}}}"#);
    assert_eq!(c.body.flags[0].variants.len(), 2);
}

#[test]
fn variant_values_must_be_scalars_or_objects_and_names_non_empty() {
    let text =
        r#"{"flags": {"f": {"state": "ENABLED", "variants": {"a": [1], "b": null, "": "x"}}}}"#;
    let d = problems(text);
    let found = located(&d);
    assert_eq!(
        found,
        vec![
            (
                (Error, 1, 51, Some("f"), "flags.f.variants.a"),
                "variant 'a' is an array: a variant value must be a boolean, string, number or object"
            ),
            (
                (Error, 1, 61, Some("f"), "flags.f.variants.b"),
                "variant 'b' is null: a variant value must be a boolean, string, number or object"
            ),
            (
                (Warning, 1, 72, Some("f"), r#"flags.f.variants[""]"#),
                "a variant name should not be empty"
            ),
        ]
    );
}

#[test]
fn default_variant_must_name_a_variant() {
    let text = r#"{
  "flags": {
    "typo": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "of"},
    "number": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": 1}
  }
}"#;
    let d = problems(text);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(
        place(&d[0]),
        (Error, 3, 74, Some("typo"), "flags.typo.defaultVariant")
    );
    assert_eq!(
        d[0].message,
        "defaultVariant 'of' is not a variant of this flag (variants: on, off)"
    );
    assert_eq!(
        place(&d[1]),
        (Error, 4, 62, Some("number"), "flags.number.defaultVariant")
    );
    assert_eq!(
        d[1].message,
        "defaultVariant must be a variant name or null, found number"
    );
}

#[test]
fn null_or_absent_default_variant_means_the_code_default() {
    let c = compiled(
        r#"{"flags": {
            "null": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": null},
            "absent": {"state": "ENABLED", "variants": {"on": true}}
        }}"#,
    );
    assert!(c.body.flags.iter().all(|f| f.default_variant.is_none()));
    assert!(c.warnings.is_empty());
}

#[test]
fn shapes_of_top_level_members_are_checked() {
    let d = problems(r#"[1]"#);
    assert_eq!(place(only(&d)), (Error, 1, 1, None, ""));
    assert_eq!(
        d[0].message,
        r#"a flagd file is a JSON object with "flags", found array"#
    );

    let d = problems(r#"{"$schema": 1, "flags": []}"#);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(place(&d[0]), (Warning, 1, 2, None, "$schema"));
    assert_eq!(
        d[0].message,
        "$schema should be a string, found number; flagd ignores it"
    );
    assert_eq!(place(&d[1]), (Error, 1, 16, None, "flags"));
    assert!(d[1].message.contains("array form"), "{}", d[1].message);

    let d = problems(r#"{"metadata": {"team": "tv"}}"#);
    assert_eq!(place(only(&d)), (Error, 1, 1, None, ""));
    assert_eq!(d[0].message, r#"the file has no "flags" object"#);

    let d = problems(r#"{"flags": {"": {"state": "ENABLED"}, "x": 5}, "$evaluators": []}"#);
    let found = located(&d);
    assert_eq!(
        found,
        vec![
            (
                (Error, 1, 12, Some(""), r#"flags[""]"#),
                "a flag key must not be empty"
            ),
            (
                (Error, 1, 38, Some("x"), "flags.x"),
                "a flag must be an object, found number"
            ),
            (
                (Error, 1, 47, None, "$evaluators"),
                "$evaluators must be an object of names to JsonLogic rules, found array"
            ),
        ]
    );
}

#[test]
fn metadata_values_must_be_scalars() {
    let text = r#"{
  "metadata": {"owner": {"team": "tv"}},
  "flags": {
    "f": {"state": "ENABLED", "variants": {"on": true}, "metadata": {"tags": ["a"], "ok": 1}},
    "g": {"state": "ENABLED", "variants": {"on": true}, "metadata": "tv"}
  }
}"#;
    let d = problems(text);
    let found = located(&d);
    assert_eq!(
        found,
        vec![
            (
                (Warning, 2, 16, None, "metadata.owner"),
                "metadata values should be strings, numbers or booleans; 'owner' is object, \
                 and is left out (OFREP metadata holds scalars only)"
            ),
            (
                (Warning, 4, 70, Some("f"), "flags.f.metadata.tags"),
                "metadata values should be strings, numbers or booleans; 'tags' is array, \
                 and is left out (OFREP metadata holds scalars only)"
            ),
            (
                (Error, 5, 57, Some("g"), "flags.g.metadata"),
                "metadata must be an object, found string"
            ),
        ]
    );
}

#[test]
fn targeting_that_is_not_an_object_is_a_warning_and_applied_as_flagd_does() {
    let text = r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false},
        "defaultVariant": "off", "targeting": "on"}}}"#;
    let c = compiled(text);
    assert_eq!(
        place(only(&c.warnings)),
        (Warning, 2, 34, Some("f"), "flags.f.targeting")
    );
    assert_eq!(
        c.warnings[0].message,
        "targeting should be a JsonLogic object (or {} for none), found string; \
         flagd applies it as it is"
    );
    let snapshot = build(FILE, text, Format::Flagd, &options())
        .unwrap()
        .snapshot;
    let r = snapshot.evaluate("f", &Context::empty(0));
    assert_eq!((r.variant, r.reason), (Some("on"), Reason::TargetingMatch));
}

#[test]
fn empty_or_absent_targeting_is_static() {
    let c = compiled(
        r#"{"flags": {
            "empty": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {}},
            "absent": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}
        }}"#,
    );
    assert!(c
        .body
        .flags
        .iter()
        .all(|f| f.targeting == Targeting::Static));
}

#[test]
fn missing_evaluator_is_a_warning_and_evaluates_to_parse_error() {
    let text = r#"{
  "flags": {
    "f": {
      "state": "ENABLED",
      "variants": {"hit": "hit", "miss": "miss"},
      "defaultVariant": "miss",
      "targeting": {"if": [{"$ref": "nowhere"}, "hit", "miss"]}
    }
  },
  "$evaluators": {"somewhere": {"==": [1, 1]}}
}"#;
    let c = compiled(text);
    let w = only(&c.warnings);
    assert_eq!(
        place(w),
        (Warning, 7, 28, Some("f"), "flags.f.targeting.if[0]")
    );
    assert_eq!(
        w.message,
        "$ref names evaluator 'nowhere', which $evaluators does not define; \
         flagd loads the file and every evaluation of this flag fails with PARSE_ERROR"
    );
    assert!(matches!(c.body.flags[0].targeting, Targeting::Invalid(_)));

    let snapshot = build(FILE, text, Format::Flagd, &options())
        .unwrap()
        .snapshot;
    let r = snapshot.evaluate("f", &Context::empty(0));
    assert_eq!(r.error_code, Some(ErrorCode::ParseError));
    assert_eq!(r.reason, Reason::Error);
    assert!(r.error_details.unwrap().contains("nowhere"));
}

#[test]
fn targeting_flagd_only_fails_at_evaluation_is_a_located_warning_and_the_rest_loads() {
    let text = r#"{
  "flags": {
    "g": {"state": "ENABLED", "variants": {"a": "a"},
          "targeting": {"if": [{"invalid": [1]}, "a", null]}},
    "h": {"state": "ENABLED", "variants": {"a": "a"},
          "targeting": {"if": [{"$ref": "loop"}, "a", null]}},
    "i": {"state": "ENABLED", "variants": {"a": "a"},
          "targeting": {"$ref": 7}},
    "ok": {"state": "ENABLED", "variants": {"a": "a", "b": "b"}, "defaultVariant": "b",
          "targeting": {"if": [{"==": [{"var": "x"}, 1]}, "a", null]}}
  },
  "$evaluators": {"loop": {"!": {"$ref": "loop"}}}
}"#;
    // Placement is the front end's; the wording is the JsonLogic compiler's.
    let c = compiled(text);
    let d = &c.warnings;
    let found: Vec<_> = d.iter().map(|d| (place(d), d.message.as_str())).collect();
    const TAIL: &str =
        "; flagd loads the file and every evaluation of this flag fails with PARSE_ERROR";
    assert_eq!(
        found,
        vec![
            (
                (Warning, 4, 33, Some("g"), "flags.g.targeting.if[0].invalid"),
                format!("unknown operator 'invalid'{TAIL}").as_str()
            ),
            (
                (Warning, 6, 32, Some("h"), "flags.h.targeting.if[0]"),
                format!("in $evaluators.loop at [\"!\"]: $ref cycle: loop → loop{TAIL}").as_str()
            ),
            (
                (Warning, 8, 11, Some("i"), "flags.i.targeting"),
                format!("$ref must be the name of an evaluator (a string), found 7{TAIL}").as_str()
            ),
        ]
    );
    let snapshot = build(FILE, text, Format::Flagd, &options())
        .unwrap()
        .snapshot;
    for (key, detail) in [
        ("g", "unknown operator 'invalid'"),
        ("h", "cycle"),
        ("i", "$ref"),
    ] {
        let r = snapshot.evaluate(key, &Context::empty(0));
        assert_eq!(
            (r.reason, r.error_code),
            (Reason::Error, Some(ErrorCode::ParseError)),
            "{key}"
        );
        assert!(
            r.error_details.as_deref().unwrap_or("").contains(detail),
            "{key}: {r:?}"
        );
    }
    let ctx = Context::from_json(r#"{"x": 1}"#, 0).unwrap();
    let r = snapshot.evaluate("ok", &ctx);
    assert_eq!((r.variant, r.reason), (Some("a"), Reason::TargetingMatch));
}

#[test]
fn strict_turns_every_warning_into_an_error_in_place() {
    let text = r#"{"flags": {"g": {"state": "ENABLED", "variants": {"a": "a"},
        "targeting": {"invalid": [1]}}}}"#;
    let c = compiled(text);
    let warning = only(&c.warnings).clone();
    let d = c.strict().unwrap_err();
    let error = only(&d);
    assert_eq!(error.severity, Error);
    assert_eq!(
        (
            &error.file,
            error.line,
            error.column,
            &error.flag,
            &error.path,
            &error.message
        ),
        (
            &warning.file,
            warning.line,
            warning.column,
            &warning.flag,
            &warning.path,
            &warning.message
        )
    );
    let clean = compiled(r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}}}}"#);
    assert_eq!(clean.clone().strict(), Ok(clean));
}

#[test]
fn tolerated_targeting_mistakes_are_warnings() {
    let text = r#"{
  "flags": {
    "f": {
      "state": "ENABLED",
      "variants": {"red": "red", "blue": "blue"},
      "defaultVariant": "red",
      "targeting": {"if": [
        {"sem_ver": [{"var": "version"}, "==", "1.0.0"]}, "bleu",
        {"starts_with": [{"var": "id"}]}, "red",
        {"fractional": [["red", -5], ["blue", 0]]}
      ]}
    }
  }
}"#;
    let c = compiled(text);
    let found = located(&c.warnings);
    assert_eq!(
        found,
        vec![
            (
                (Warning, 8, 42, Some("f"), "flags.f.targeting.if[0].sem_ver[1]"),
                "sem_ver has no operator '==' (it has = != < <= > >= ^ ~); flagd returns null"
            ),
            (
                (Warning, 8, 59, Some("f"), "flags.f.targeting.if[1]"),
                "targeting can return 'bleu', which is not a variant of this flag (variants: red, blue); such an evaluation fails with GENERAL"
            ),
            (
                (Warning, 9, 10, Some("f"), "flags.f.targeting.if[2].starts_with"),
                "starts_with takes 2 arguments, not 1; flagd returns null"
            ),
            (
                (Warning, 10, 10, Some("f"), "flags.f.targeting.if[4].fractional"),
                "every weight is 0: fractional returns null and the flag serves its default variant"
            ),
            (
                (Warning, 10, 33, Some("f"), "flags.f.targeting.if[4].fractional[0][1]"),
                "weight -5 is negative; flagd counts it as 0"
            ),
        ]
    );
}

#[test]
fn fractional_weights_that_make_it_return_null_are_warnings() {
    let text = r#"{
  "flags": {
    "f": {
      "state": "ENABLED",
      "variants": {"red": "red", "blue": "blue"},
      "defaultVariant": "red",
      "targeting": {"if": [
        {"var": "a"}, {"fractional": [["red", 2147483647], ["blue", 1]]},
        {"var": "b"}, {"fractional": [["red", 1.5], ["blue", "50"]]},
        {"fractional": [["red", {"var": "w"}], ["blue", null], ["red"], ["blue", 1e2]]}
      ]}
    }
  }
}"#;
    let c = compiled(text);
    let found = located(&c.warnings);
    assert_eq!(
        found,
        vec![
            (
                (Warning, 8, 24, Some("f"), "flags.f.targeting.if[1].fractional"),
                "weights add up to 2147483648, more than 2147483647: fractional returns null and the flag serves its default variant"
            ),
            (
                (Warning, 9, 47, Some("f"), "flags.f.targeting.if[3].fractional[0][1]"),
                "weight 1.5 is not a whole number: fractional returns null and the flag serves its default variant"
            ),
            (
                (Warning, 9, 62, Some("f"), "flags.f.targeting.if[3].fractional[1][1]"),
                "weight \"50\" is not a number: fractional returns null and the flag serves its default variant"
            ),
        ]
    );
    // What the lint promises: the first two evaluate to null (the default
    // variant), the last distributes.
    let s = build(FILE, text, Format::Flagd, &options())
        .unwrap()
        .snapshot;
    for (context, reason) in [
        (json!({"targetingKey": "u", "a": true}), Reason::Default),
        (json!({"targetingKey": "u", "b": true}), Reason::Default),
        (json!({"targetingKey": "u", "w": 3}), Reason::TargetingMatch),
    ] {
        let r = s.evaluate("f", &Context::from_value(context.clone(), 0).unwrap());
        assert_eq!(r.reason, reason, "{context}");
    }
}

/// Each rule is just under the per-rule limit, but 30 of them expand to more than
/// the file may hold: one error, at the rule that goes over (a 28 KB file
/// of 200 such flags made an 88 MB snapshot with 3.7 GB of memory).
#[test]
fn all_rules_of_a_file_share_one_node_allowance() {
    let mut evaluators = vec![r#""e0": {"==": [{"var": "x"}, 1]}"#.to_owned()];
    for i in 1..=14 {
        let p = i - 1;
        evaluators.push(format!(
            r#""e{i}": {{"and": [{{"$ref": "e{p}"}}, {{"$ref": "e{p}"}}]}}"#
        ));
    }
    let flags: Vec<String> = (10..40)
        .map(|i| {
            format!(
                r#""f{i}": {{"state": "ENABLED", "variants": {{"on": true, "off": false}},
                 "defaultVariant": "off", "targeting": {{"if": [{{"$ref": "e14"}}, "on", "off"]}}}}"#
            )
        })
        .collect();
    let text = format!(
        "{{\"$evaluators\": {{{}}},\n\"flags\": {{{}}}}}",
        evaluators.join(","),
        flags.join(",\n")
    );
    let d = problems(&text);
    let e = only(&d);
    assert_eq!(e.severity, Error);
    assert_eq!(e.flag.as_deref(), Some("f30"));
    assert!(
        e.message.ends_with(
            "the file's conditions (with their $refs expanded) are larger than 2000000 nodes \
             together; this one goes over"
        ),
        "{}",
        e.message
    );
    // The same rules in fewer flags are fine.
    let few = text
        .replace(&flags[20..].join(",\n"), "")
        .replace(",\n}}", "}}");
    assert_eq!(compiled(&few).body.flags.len(), 20);
}

#[test]
fn every_problem_is_reported_in_one_run_in_text_order() {
    let text = r#"{
  "flags": {
    "a": {"state": "enabled", "variants": {"x": 1, "y": "2"}, "defaultVariant": "z"},
    "b": {"variants": {"on": true}, "metadata": {"m": null}},
    "c": {"state": "ENABLED", "variants": {"on": true}, "targeting": {"if": [true, "of"]}}
  },
  "metadata": []
}"#;
    let d = problems(text);
    let found: Vec<_> = d.iter().map(place).collect();
    assert_eq!(
        found,
        vec![
            (Warning, 3, 11, Some("a"), "flags.a.state"),
            (Warning, 3, 52, Some("a"), "flags.a.variants.y"),
            (Error, 3, 63, Some("a"), "flags.a.defaultVariant"),
            (Warning, 4, 5, Some("b"), "flags.b"),
            (Warning, 4, 50, Some("b"), "flags.b.metadata.m"),
            (Warning, 5, 84, Some("c"), "flags.c.targeting.if[1]"),
            (Error, 7, 3, None, "metadata"),
        ]
    );
    let rendered = d[0].to_string();
    assert_eq!(
        rendered,
        r#"warning: flags.json:3:11: flag 'a' at flags.a.state: state should be "ENABLED" or "DISABLED", found "enabled"; flagd serves the flag as enabled"#
    );
}

#[test]
fn flag_set_metadata_is_merged_under_flag_metadata() {
    let text = r#"{
  "metadata": {"flagSetId": "media", "version": "7", "owner": "platform"},
  "flags": {
    "own": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
            "metadata": {"owner": "playback", "ticket": 42}},
    "plain": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}
  }
}"#;
    let built = build(FILE, text, Format::Flagd, &options()).unwrap();
    assert_eq!(
        Value::Object(built.snapshot.metadata().clone()),
        json!({"flagSetId": "media", "version": "7", "owner": "platform"})
    );
    let ctx = Context::empty(0);
    let own = built.snapshot.evaluate("own", &ctx);
    assert_eq!(
        own.to_json()["metadata"],
        json!({"flagSetId": "media", "version": "7", "owner": "playback", "ticket": 42})
    );
    let plain = built.snapshot.evaluate("plain", &ctx);
    assert_eq!(
        plain.to_json()["metadata"],
        json!({"flagSetId": "media", "version": "7", "owner": "platform"})
    );
}

#[test]
fn unknown_fields_are_accepted() {
    let c = compiled(
        r#"{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "description": "top-level notes",
  "flags": {
    "f": {"state": "ENABLED", "description": "a flag", "owner": {"team": "tv"},
          "variants": {"on": true}, "defaultVariant": "on"}
  }
}"#,
    );
    assert!(c.warnings.is_empty());
    assert_eq!(c.tenant, None);
    assert_eq!(c.body.flags[0].key, "f");
    assert!(c.body.flags[0].metadata.is_empty());
}

#[test]
fn flags_resolve_statically_disabled_and_without_default() {
    let text = r#"{"flags": {
        "on": {"state": "ENABLED", "variants": {"a": {"x": 1}, "b": {}}, "defaultVariant": "a"},
        "off": {"state": "DISABLED", "variants": {"a": "x"}, "defaultVariant": "a"},
        "none": {"state": "ENABLED", "variants": {"a": 1}}
    }}"#;
    let snapshot = build(FILE, text, Format::Flagd, &options())
        .unwrap()
        .snapshot;
    let ctx = Context::empty(0);
    let on = snapshot.evaluate("on", &ctx);
    assert_eq!(
        (on.value, on.variant, on.reason),
        (Some(&json!({"x": 1})), Some("a"), Reason::Static)
    );
    let off = snapshot.evaluate("off", &ctx);
    assert_eq!((off.value, off.reason), (None, Reason::Disabled));
    let none = snapshot.evaluate("none", &ctx);
    assert_eq!((none.value, none.reason), (None, Reason::Default));
}

#[test]
fn variants_keep_source_order() {
    let c = compiled(
        r#"{"flags": {"f": {"state": "ENABLED", "variants": {"zeta": 1, "alpha": 2, "mid": 3}}}}"#,
    );
    let names: Vec<&str> = c.body.flags[0]
        .variants
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn builds_are_deterministic() {
    let text = r#"{
  "metadata": {"flagSetId": "media"},
  "flags": {
    "b": {"state": "ENABLED", "variants": {"y": "y", "x": "x"}, "defaultVariant": "x",
          "metadata": {"z": 1, "a": true}},
    "a": {"state": "DISABLED", "variants": {"on": true, "off": false}}
  }
}"#;
    let first = build(FILE, text, Format::Flagd, &options()).unwrap().bytes;
    for _ in 0..3 {
        assert_eq!(
            build(FILE, text, Format::Flagd, &options()).unwrap().bytes,
            first
        );
    }
    // Layout and flag order do not matter; only content does.
    let reflowed = r#"{"flags": {"a": {"variants": {"on": true, "off": false}, "state": "DISABLED"},
        "b": {"metadata": {"a": true, "z": 1}, "defaultVariant": "x", "state": "ENABLED",
              "variants": {"y": "y", "x": "x"}}}, "metadata": {"flagSetId": "media"}}"#;
    assert_eq!(
        build(FILE, reflowed, Format::Flagd, &options())
            .unwrap()
            .bytes,
        first
    );
    // Variant order is content: swapping two variants changes the snapshot.
    let swapped = text.replace(r#"{"y": "y", "x": "x"}"#, r#"{"x": "x", "y": "y"}"#);
    assert_ne!(
        build(FILE, &swapped, Format::Flagd, &options())
            .unwrap()
            .bytes,
        first
    );
}

fn options() -> BuildOptions {
    BuildOptions {
        tenant: Some("media".to_owned()),
        version: 1,
        created_at: 1_700_000_000,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    }
}

/// The media example tenant (`examples/media.flagd.json` with its access
/// file) builds without warnings and serves what its descriptions promise.
#[test]
fn media_example_resolves_as_described() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let text = std::fs::read_to_string(format!("{examples}/media.flagd.json")).unwrap();
    let access = std::fs::read_to_string(format!("{examples}/media.access.yaml")).unwrap();
    let sources = Sources {
        file: "media.flagd.json",
        bytes: text.as_bytes(),
        format: Format::Flagd,
        confidence: &Default::default(),
        access: Some(("media.access.yaml", &access)),
        strict: false,
    };
    let built = build_sources(&sources, &options()).unwrap();
    assert!(built.warnings.is_empty(), "{:#?}", built.warnings);
    let snapshot = built.snapshot;
    let at = |now: i64, context: Value| Context::from_value(context, now).unwrap();
    let eval = |flag: &str, ctx: &Context| {
        let r = snapshot.evaluate(flag, ctx);
        assert_eq!(r.error_code, None, "{flag}: {}", r.to_json());
        (r.value.cloned(), r.reason)
    };
    let now = 1_790_000_000; // September 2026

    // Staff always get the new player; eligible apps roll out at 25 %.
    let staff = at(
        now,
        json!({"targetingKey": "u1", "email": "ana@vane-media.example"}),
    );
    assert_eq!(
        eval("player-v2", &staff),
        (Some(json!(true)), Reason::TargetingMatch)
    );
    assert_eq!(
        eval("debug-overlay", &staff),
        (Some(json!(true)), Reason::TargetingMatch)
    );
    let old_app = at(
        now,
        json!({"targetingKey": "u1", "platform": "ios", "appVersion": "5.1.9"}),
    );
    assert_eq!(
        eval("player-v2", &old_app),
        (Some(json!(false)), Reason::Default)
    );
    let on = (0..4000)
        .filter(|i| {
            let ctx = at(now, json!({"targetingKey": format!("viewer-{i}"), "platform": "tv", "appVersion": "3.9.1"}));
            eval("player-v2", &ctx) == (Some(json!(true)), Reason::TargetingMatch)
        })
        .count();
    assert!(
        (900..=1100).contains(&on),
        "{on} of 4000 viewers got player-v2"
    );

    // Quality by plan and device.
    let viewer = |plan: &str, model: &str| {
        at(
            now,
            json!({"subscription": {"plan": plan}, "device": {"model": model}}),
        )
    };
    for (plan, model, quality, reason) in [
        ("premium", "AppleTV14,1", "2160p", Reason::TargetingMatch),
        ("premium", "Bravia-XR-4K", "2160p", Reason::TargetingMatch),
        ("premium", "Pixel 9", "1080p", Reason::TargetingMatch),
        ("standard", "SHIELD Pro", "1080p", Reason::TargetingMatch),
        ("basic", "AppleTV14,1", "480p", Reason::Default),
    ] {
        assert_eq!(
            eval("max-stream-quality", &viewer(plan, model)),
            (Some(json!(quality)), reason),
            "{plan} on {model}"
        );
    }
    assert_eq!(
        eval("downloads-per-device", &viewer("premium", "x")).0,
        Some(json!(40))
    );
    assert_eq!(
        eval("downloads-per-device", &viewer("free", "x")).0,
        Some(json!(0))
    );

    // Home rows and autoplay for kids, sports fans and everyone else.
    let kids = at(now, json!({"profile": {"type": "kids"}, "country": "GB"}));
    let fan = at(
        now,
        json!({"country": "GB", "subscription": {"addons": ["sports"]}}),
    );
    let other = at(
        now,
        json!({"country": "US", "subscription": {"addons": ["sports"]}}),
    );
    assert_eq!(
        eval("home-rows", &kids).0.unwrap()["rows"][0],
        json!("kids-favourites")
    );
    assert_eq!(
        eval("home-rows", &fan).0.unwrap()["rows"][0],
        json!("live-sports")
    );
    assert_eq!(
        eval("home-rows", &other),
        (
            Some(
                json!({"rows": ["continue-watching", "trending", "new-releases", "because-you-watched"], "heroCarousel": true})
            ),
            Reason::Default
        )
    );
    assert_eq!(
        eval("autoplay-next-episode", &kids),
        (Some(json!(false)), Reason::TargetingMatch)
    );
    assert_eq!(
        eval("autoplay-next-episode", &fan),
        (Some(json!(true)), Reason::Default)
    );

    // The search experiment needs app 6.0.0 or later.
    let v5 = at(now, json!({"targetingKey": "u7", "appVersion": "5.9.0"}));
    assert_eq!(
        eval("search-ranking", &v5),
        (Some(json!("lexical")), Reason::Default)
    );
    let v6 = at(now, json!({"targetingKey": "u7", "appVersion": "6.0.2"}));
    assert_eq!(eval("search-ranking", &v6).1, Reason::TargetingMatch);

    // Seasonal theme by evaluation time ($flagd.timestamp).
    assert_eq!(
        eval("winter-theme", &at(now, json!({}))).0,
        Some(json!(false))
    );
    assert_eq!(
        eval("winter-theme", &at(1_796_083_200, json!({}))).0,
        Some(json!(true))
    );
    assert_eq!(
        eval("winter-theme", &at(1_799_193_601, json!({}))).0,
        Some(json!(false))
    );

    // The retired flag is disabled; flag-set metadata is merged under its own.
    let legacy = snapshot.evaluate("legacy-chromecast-receiver", &at(now, json!({})));
    assert_eq!((legacy.value, legacy.reason), (None, Reason::Disabled));
    assert_eq!(
        legacy.to_json()["metadata"],
        json!({"flagSetId": "media-streaming", "version": "2026.11.3", "owner": "devices", "retired": true})
    );
}
