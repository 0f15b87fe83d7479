//! The real `vane` binary, end to end: build → inspect → eval gives the same
//! results as evaluating the rules directly, builds are reproducible, and bad
//! input gets a clear message and the documented exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::build_cases::{cases, expected, BUILD_TIME};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vane(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vane"));
    cmd.args(args).current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("vane runs")
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "vane failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Every example tenant: (rule file, tenant flag for `vane build`).
fn examples() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("examples/shop.yaml", vec![]),
        (
            "examples/media.flagd.json",
            vec![
                "--tenant",
                "media",
                "--access",
                "examples/media.access.yaml",
            ],
        ),
    ]
}

fn contexts() -> Vec<Value> {
    vec![
        json!({}),
        json!({"targetingKey": "user-1"}),
        json!({"targetingKey": "user-2", "email": "ana@shop.example", "country": "DE", "plan": "pro"}),
        json!({"targetingKey": "user-3", "email": "bob@gmail.com", "appVersion": "4.2.0", "platform": "ios", "region": "eu-west"}),
        json!({"targetingKey": "9f1c", "user": {"name": "queen", "tier": "premium"}, "age": 41, "beta": true}),
    ]
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vane-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const EPOCH: &str = "1700000000";
const NOW: &str = "1764400000";

#[test]
fn build_inspect_eval_round_trip_matches_direct_rule_evaluation() {
    for (rules, extra) in examples() {
        let out = tmp(&format!("{}.cbor", rules.replace('/', "_")));
        let out_s = out.to_str().unwrap();
        let mut args = vec!["build", rules, "-o", out_s, "--version", "42"];
        args.extend(&extra);
        let built = vane(&args, &[("SOURCE_DATE_EPOCH", EPOCH)]);
        assert!(
            built.status.success(),
            "{rules}: {}",
            String::from_utf8_lossy(&built.stderr)
        );

        let info = stdout_json(&vane(&["inspect", out_s], &[]));
        let bytes = std::fs::read(&out).unwrap();
        let decoded = vane_resolver::Snapshot::from_bytes(&bytes).unwrap();
        assert_eq!(info["version"], 42, "{rules}");
        assert_eq!(info["created_at"], 1_700_000_000u64, "{rules}");
        assert_eq!(info["digest"], decoded.info.digest.as_str());
        assert_eq!(info["digest"].as_str().unwrap().len(), 64);
        assert_eq!(info["byte_size"], bytes.len());
        assert_eq!(info["flag_count"], decoded.flag_count());
        assert_eq!(info["bucketing_version"], 1);
        assert!(decoded.flag_count() >= 5, "{rules}: a realistic example");

        for ctx in contexts() {
            let c = ctx.to_string();
            let from_snapshot =
                stdout_json(&vane(&["eval", out_s, "--context", &c, "--now", NOW], &[]));
            let from_rules =
                stdout_json(&vane(&["eval", rules, "--context", &c, "--now", NOW], &[]));
            assert_eq!(from_snapshot, from_rules, "{rules} with {c}");
            let flags = from_snapshot["flags"].as_array().unwrap();
            assert_eq!(flags.len(), decoded.flag_count());
            for f in flags {
                let key = f["key"].as_str().unwrap();
                let one = stdout_json(&vane(
                    &["eval", out_s, "--context", &c, "--now", NOW, "--flag", key],
                    &[],
                ));
                assert_eq!(&one, f, "{rules}: single and bulk agree for {key}");
            }
        }
    }
}

#[test]
fn builds_are_reproducible_and_versions_change_the_bytes() {
    for (rules, extra) in examples() {
        let build = |name: &str, version: &str| {
            let out = tmp(name);
            let mut args = vec![
                "build",
                rules,
                "-o",
                out.to_str().unwrap(),
                "--version",
                version,
            ];
            args.extend(&extra);
            let o = vane(&args, &[("SOURCE_DATE_EPOCH", EPOCH)]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            std::fs::read(out).unwrap()
        };
        let tag = rules.replace('/', "_");
        let a = build(&format!("{tag}.a.cbor"), "5");
        let b = build(&format!("{tag}.b.cbor"), "5");
        let c = build(&format!("{tag}.c.cbor"), "6");
        assert_eq!(a, b, "{rules}: same inputs, same bytes");
        assert_ne!(a, c, "{rules}: another version, other bytes");
    }
}

#[test]
fn eval_reports_flag_level_failures_as_data() {
    let out = vane(
        &["eval", "examples/shop.yaml", "--flag", "no-such-flag"],
        &[],
    );
    assert_eq!(
        stdout_json(&out),
        json!({"key": "no-such-flag", "errorCode": "FLAG_NOT_FOUND",
               "errorDetails": "flag 'no-such-flag' was not found", "metadata": {}})
    );
}

#[test]
fn eval_reads_the_context_from_a_file() {
    let file = tmp("ctx.json");
    std::fs::write(&file, r#"{"targetingKey": "user-1"}"#).unwrap();
    let at = format!("@{}", file.display());
    let from_file = stdout_json(&vane(
        &["eval", "examples/shop.yaml", "--context", &at, "--now", NOW],
        &[],
    ));
    let inline = stdout_json(&vane(
        &[
            "eval",
            "examples/shop.yaml",
            "--context",
            r#"{"targetingKey":"user-1"}"#,
            "--now",
            NOW,
        ],
        &[],
    ));
    assert_eq!(from_file, inline);
}

#[test]
fn unusable_input_exits_2_with_a_clear_message() {
    let bad_json = vane(
        &["eval", "examples/shop.yaml", "--context", "{not json"],
        &[],
    );
    assert_eq!(bad_json.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad_json.stderr);
    assert!(
        err.contains("invalid --context") && err.contains("line 1"),
        "{err}"
    );

    let not_object = vane(&["eval", "examples/shop.yaml", "--context", "[1,2]"], &[]);
    assert_eq!(not_object.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&not_object.stderr).contains("must be a JSON object, found array")
    );

    let missing = vane(&["eval", "no/such/file.cbor"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read no/such/file.cbor"));

    let corrupt = tmp("corrupt.cbor");
    let mut bytes = {
        let out = tmp("good.cbor");
        let o = vane(
            &["build", "examples/shop.yaml", "-o", out.to_str().unwrap()],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).unwrap()
    };
    for (args, found) in [
        (
            vec!["inspect", "examples/shop.yaml"],
            "this looks like text",
        ),
        (
            vec![
                "publish",
                "examples/shop.yaml",
                "--url",
                "http://127.0.0.1:9",
                "--token",
                "t",
            ],
            "this looks like text",
        ),
        (vec!["inspect", "/dev/null"], "the file is empty"),
    ] {
        let o = vane(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "is not a Vane snapshot (a snapshot starts with a CBOR map; {found}): \
                 check rules with `vane check`"
            )),
            "{args:?}: {err}"
        );
    }

    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&corrupt, &bytes).unwrap();
    let o = vane(&["inspect", corrupt.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("digest mismatch"));
}

#[test]
fn a_failed_write_leaves_no_temporary_file_behind() {
    let dir = tmp("write-target");
    std::fs::create_dir_all(dir.join("taken.cbor")).unwrap();
    let out = dir.join("taken.cbor");
    let o = vane(
        &["build", "examples/shop.yaml", "-o", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot write") && err.contains("taken.cbor"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["taken.cbor"],
        "only the directory that was in the way"
    );

    // A file of the user's next to the output is never used as scratch space.
    let mine = dir.join("shop.cbor.tmp");
    std::fs::write(&mine, "keep me").unwrap();
    let target = dir.join("shop.cbor");
    let o = vane(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            target.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "keep me");
    assert!(target.is_file());
}

#[test]
fn check_exits_1_and_locates_errors() {
    let file = tmp("broken.flagd.json");
    std::fs::write(
        &file,
        r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "off"}}}"#,
    )
    .unwrap();
    let o = vane(&["check", file.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broken.flagd.json:1:") && err.contains("flag 'f'"),
        "{err}"
    );
    assert!(err.ends_with(": 1 error, 0 warnings\n"), "{err}");

    let ok = vane(&["check", "examples/shop.yaml"], &[]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let refused = vane(
        &[
            "build",
            file.to_str().unwrap(),
            "-o",
            tmp("never.cbor").to_str().unwrap(),
            "--tenant",
            "t",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        !tmp("never.cbor").exists(),
        "nothing is written when the rules have errors"
    );
}

#[test]
fn strict_check_and_build_refuse_warnings_that_plain_ones_accept() {
    let file = tmp("typo.flagd.json");
    std::fs::write(
        &file,
        r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
            "targeting": {"invalid": [1]}}}}"#,
    )
    .unwrap();
    let access = "examples/media.access.yaml";
    let path = file.to_str().unwrap();
    let plain = vane(&["check", path, "--access", access], &[]);
    assert_eq!(plain.status.code(), Some(0));
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(
        err.contains("warning: ") && err.contains("typo.flagd.json:2:") && err.contains("flag 'f'"),
        "{err}"
    );
    let strict = vane(&["check", path, "--access", access, "--strict"], &[]);
    assert_eq!(strict.status.code(), Some(1));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        err.contains("error: ")
            && err.contains("unknown operator 'invalid'")
            && !err.contains("warning: "),
        "{err}"
    );
    let out = tmp("typo.cbor");
    let build = |extra: &[&str]| {
        let mut args = vec!["build", path, "--access", access, "--tenant", "media", "-o"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        vane(&args, &[])
    };
    assert_eq!(build(&["--strict"]).status.code(), Some(1));
    assert!(
        !out.exists(),
        "nothing is written under --strict with warnings"
    );
    assert_eq!(build(&[]).status.code(), Some(0));
    assert!(out.is_file());
}

#[test]
fn an_access_file_gives_a_flagd_tenant_its_clients_and_origins() {
    let out = tmp("media-access.cbor");
    let o = vane(
        &[
            "build",
            "examples/media.flagd.json",
            "--tenant",
            "media",
            "--access",
            "examples/media.access.yaml",
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = vane_resolver::Snapshot::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let names: Vec<&str> = s.clients().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["tv-app", "web-player"]);
    let web_key = vane_resolver::snapshot::sha256(b"media-web-key-3c8e2f71d046");
    assert_eq!(s.clients()[1].key_digests[0].0, web_key);
    assert_eq!(
        s.cors_origins(),
        ["http://localhost:8080", "https://watch.media.example"]
    );

    // Clients live in one place; tenants must agree.
    let twice = vane(
        &[
            "build",
            "examples/shop.yaml",
            "--access",
            "examples/media.access.yaml",
            "-o",
            tmp("never2.cbor").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(twice.status.code(), Some(1));
    let err = String::from_utf8_lossy(&twice.stderr);
    assert!(
        err.contains("error: examples/media.access.yaml: the rules already name clients")
            && err.contains("the access file is for tenant 'media' but the rules are for 'shop'"),
        "{err}"
    );
    let wrong_tenant = vane(
        &[
            "build",
            "examples/media.flagd.json",
            "--tenant",
            "other",
            "--access",
            "examples/media.access.yaml",
            "-o",
            tmp("never3.cbor").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(wrong_tenant.status.code(), Some(1));
}

/// `vane check` prints exactly the diagnostics of the library's one build
/// (which the JS bindings run too; `tests/browser.rs` checks that side),
/// and exits 1 exactly when there are errors.
#[test]
fn check_reports_what_the_library_build_reports() {
    let epoch = BUILD_TIME.to_string();
    for (i, case) in cases().iter().enumerate() {
        let rules = tmp(&format!("case{i}-{}", case.file));
        std::fs::write(&rules, &case.text).unwrap();
        let access = tmp(&format!("case{i}-access.yaml"));
        let (rules, access) = (rules.to_str().unwrap(), access.to_str().unwrap());
        let mut args = vec!["check", rules];
        if let Some(text) = &case.access {
            std::fs::write(access, text).unwrap();
            args.extend(["--access", access]);
        }
        if let Some(tenant) = case.tenant {
            args.extend(["--tenant", tenant]);
        }
        let o = vane(&args, &[("SOURCE_DATE_EPOCH", &epoch)]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let mut printed: Vec<&str> = stderr.lines().collect();
        let summary = printed.pop();
        let (diagnostics, failed) = expected(case, rules, access);
        let want: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(printed, want, "{}: {summary:?}", case.name);
        assert_eq!(o.status.code(), Some(i32::from(failed)), "{}", case.name);
    }
}

#[test]
fn rules_without_clients_get_a_warning_that_says_what_to_do() {
    let o = vane(
        &["check", "examples/media.flagd.json", "--tenant", "media"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: examples/media.flagd.json: no clients: no client key can read these flags at the edge; flagd files name none: pass --access FILE"),
        "{err}"
    );
    let with = vane(
        &[
            "check",
            "examples/media.flagd.json",
            "--access",
            "examples/media.access.yaml",
        ],
        &[],
    );
    assert!(!String::from_utf8_lossy(&with.stderr).contains("no clients"));
}

#[test]
fn keygen_writes_an_owner_only_key_and_build_sign_names_its_public_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let key = tmp("publisher.pem");
    let _ = std::fs::remove_file(&key);
    let key_s = key.to_str().unwrap();
    let out = vane(&["keygen", key_s], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(public.len(), 64, "{public}");
    assert!(public
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key file is owner-only");
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));

    // An existing key is never overwritten.
    let again = vane(&["keygen", key_s], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("File exists"));

    let signed = tmp("signed.cbor");
    let signed_s = signed.to_str().unwrap();
    let built = vane(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            signed_s,
            "--version",
            "9",
            "--sign",
            key_s,
        ],
        &[("SOURCE_DATE_EPOCH", EPOCH)],
    );
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(String::from_utf8_lossy(&built.stderr).contains(&format!("signed by {public}")));
    let info = stdout_json(&vane(&["inspect", signed_s], &[]));
    assert_eq!(info["signer"], json!(public));
    assert_eq!(info["version"], json!(9));

    // Unsigned: `signer` is null. Same body, so the same digest.
    let plain = tmp("plain.cbor");
    let plain_s = plain.to_str().unwrap();
    let built = vane(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            plain_s,
            "--version",
            "9",
        ],
        &[("SOURCE_DATE_EPOCH", EPOCH)],
    );
    assert!(built.status.success());
    let plain_info = stdout_json(&vane(&["inspect", plain_s], &[]));
    assert_eq!(plain_info["signer"], Value::Null);
    assert_eq!(plain_info["digest"], info["digest"]);

    // A file that is not a key: exit 2, and nothing is written.
    let not_key = tmp("not-a-key.pem");
    std::fs::write(&not_key, "hello\n").unwrap();
    let out_path = tmp("never.cbor");
    let bad = vane(
        &[
            "build",
            "examples/shop.yaml",
            "-o",
            out_path.to_str().unwrap(),
            "--sign",
            not_key.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("is not a PKCS#8 PEM Ed25519 private key"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(!out_path.exists());
}

/// `vane eval INPUT --flag FLAG --explain --context CONTEXT`'s output; it must succeed.
fn explain(input: &str, flag: &str, context: &str) -> String {
    let out = vane(
        &[
            "eval",
            input,
            "--flag",
            flag,
            "--explain",
            "--context",
            context,
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn eval_explain_prints_the_layer_bar_and_the_unit_bucket() {
    let text = explain(
        "examples/shop.yaml",
        "sticky-buy-button",
        r#"{"targetingKey":"u5"}"#,
    );
    // Bucket of "product-page-2026|u5" among 1,000,000 (MurmurHash3 x86_32).
    for line in [
        "sticky-buy-button: variant control reason SPLIT",
        "  rule 1: matched; splits by targetingKey (salt sticky-buy-button)",
        "    layer product-page (salt product-page-2026): unit targetingKey=u5 -> bucket 572265 of 1000000; in this rule's range",
        "      |AAAAAAAAAAAAAAA..........BBBBBBBBBBBBBBB..........|",
        "      B [(500000, 800000)] sticky-buy-button  <- the unit fell here",
        "      A [(0, 50000)] reviews-first, sticky-buy-button",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    let bucket = (u64::from(vane_resolver::bucket::murmur3_32(&[
        b"product-page-2026|u5",
    ])) * 1_000_000)
        >> 32;
    assert_eq!(bucket, 572_265);
}

#[test]
fn eval_explain_prints_what_flagd_json_logic_evaluated_to_and_read() {
    // player-v2's `fractional` buckets a `cat` the builder does not lower,
    // so its targeting stays JsonLogic.
    let text = explain(
        "examples/media.flagd.json",
        "player-v2",
        r#"{"targetingKey":"u","email":"ana@corp.example","platform":"ios"}"#,
    );
    assert_eq!(
        text,
        "player-v2: variant off reason DEFAULT\n\
         \x20 flagd JsonLogic targeting: evaluated to null\n\
         \x20   reads email = \"ana@corp.example\"\n\
         \x20   reads platform = \"ios\"\n\
         \x20   reads appVersion = missing\n\
         \x20   reads targetingKey = \"u\"\n\n"
    );
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_an_error() {
    // `vane inspect S | head -3` once `head` has exited: the write fails with
    // EPIPE, which must end the command quietly, not in a panic.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    for args in [
        vec!["inspect", "snapshot-builder/tests/golden/shop.v4.cbor"],
        vec![
            "eval",
            "snapshot-builder/tests/golden/shop.v4.cbor",
            "--context",
            "{}",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vane"))
            .args(&args)
            .current_dir(repo())
            .stdout(writer.try_clone().expect("the pipe's write end"))
            .output()
            .expect("vane runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "vane {args:?}: {:?}, stderr: {stderr}",
            out.status
        );
        assert_eq!(stderr, "", "vane {args:?}");
    }
}

#[test]
fn an_unusable_admin_token_is_named_before_anything_is_sent() {
    let out = tmp("token-shop.cbor");
    let o = vane(
        &["build", "examples/shop.yaml", "-o", out.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snapshot = out.to_str().unwrap();
    // Port 9 (discard) is never asked: each token is refused first.
    for (token, env, found) in [
        (
            Some(""),
            "a-set-variable",
            "no admin token: --token is empty",
        ),
        (None, "  ", "no admin token: VANE_ADMIN_TOKEN is empty"),
        (
            Some("ab\ncd"),
            "",
            "the admin token of --token contains a control character",
        ),
    ] {
        let mut args = vec!["publish", snapshot, "--url", "http://127.0.0.1:9"];
        if let Some(t) = token {
            args.extend(["--token", t]);
        }
        let o = vane(&args, &[("VANE_ADMIN_TOKEN", env)]);
        assert_eq!(o.status.code(), Some(2), "{token:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(found), "{token:?}: {err}");
        assert!(!err.contains("cannot reach"), "{token:?}: {err}");
    }
}
