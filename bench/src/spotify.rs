//! Spotify's own Confidence resolver (`confidence_resolver` from crates.io)
//! and Vane side by side on the same state and requests: the two halves of
//! the differential test and of the `confidence` benchmark.

use bytes::Bytes;
use confidence_resolver::proto::confidence::flags::admin::v1::ResolverState as StatePb;
use confidence_resolver::proto::confidence::flags::resolver::v1::{
    ResolveFlagsRequest, ResolveProcessRequest, ResolveReason,
};
use confidence_resolver::proto::google::Struct;
use confidence_resolver::proto::Message as _;
use confidence_resolver::{Client, FlagToApply, Host, ResolvedValue, ResolverState};
use serde_json::Value;
use vane_resolver::confidence::{Answer, ResolveRequest};
use vane_resolver::Snapshot;
use vane_snapshot_builder::confidence::{compile, Options};
use vane_snapshot_builder::{encode, BuildOptions};

use crate::confidence::{ACCOUNT, SECRET};

/// A host that keeps nothing: neither resolver logs in the comparison.
pub struct Quiet;

impl Host for Quiet {
    fn log_resolve(_: &str, _: &Struct, _: &[ResolvedValue<'_>], _: &Client) {}
    fn log_assign(
        _: &str,
        _: &[FlagToApply<'_>],
        _: &Client,
        _: &Option<confidence_resolver::proto::confidence::flags::resolver::v1::Sdk>,
    ) {
    }
}

/// One resolved flag, as both resolvers can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Flag name.
    pub flag: String,
    /// `RESOLVE_REASON_…`.
    pub reason: String,
    /// Variant name, empty for none.
    pub variant: String,
    /// `shouldApply`.
    pub should_apply: bool,
    /// The assigning rule, empty for none.
    pub origin: String,
}

/// A generated state in the binary protobuf form Confidence's CDN serves.
pub fn protobuf(state: &Value) -> Vec<u8> {
    let pb: StatePb =
        serde_json::from_value(state.clone()).expect("a ResolverState in proto3 JSON");
    pb.encode_to_vec()
}

/// Spotify's resolver loading a protobuf state (decode + index).
pub fn spotify_load(pb: &[u8]) -> ResolverState {
    let state = StatePb::decode(pb).expect("protobuf state");
    ResolverState::from_proto(state, ACCOUNT, None).expect("Spotify's resolver loads the state")
}

/// Vane's snapshot of the same protobuf state.
pub fn vane_snapshot(pb: &[u8]) -> Vec<u8> {
    let options = Options {
        account: Some(ACCOUNT.to_owned()),
        state_key: None,
    };
    let compiled = compile("state.pb", pb, &options).expect("Vane builds the state");
    let build = BuildOptions {
        tenant: None,
        version: 1,
        created_at: 0,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    encode("state.pb", compiled, &build)
        .expect("Vane encodes the state")
        .bytes
}

/// Resolves `flags` (empty = all) for the context (JSON text, as a request
/// carries it) with Spotify's resolver (`apply: true`, so no resolve token
/// is sealed). `Err` with its message when the resolver fails the request.
pub fn spotify_resolve(
    state: &ResolverState,
    context: &str,
    flags: &[String],
) -> Result<Vec<Outcome>, String> {
    let key = Bytes::from_static(&[0; 16]);
    let resolver = state.get_resolver_with_json_context::<Quiet>(SECRET, context, &key)?;
    // The resolver holds the parsed context; the request's copy is not read again.
    let request = ResolveFlagsRequest {
        evaluation_context: None,
        client_secret: SECRET.to_owned(),
        flags: flags.to_vec(),
        apply: true,
        sdk: None,
    };
    let response =
        resolver.resolve_flags(ResolveProcessRequest::without_materializations(request))?;
    let (response, _) = response.into_resolved().ok_or("suspended")?;
    let mut out: Vec<Outcome> = response
        .resolved_flags
        .into_iter()
        .map(|f| Outcome {
            reason: ResolveReason::try_from(f.reason)
                .map_or_else(|_| f.reason.to_string(), |r| r.as_str_name().to_owned()),
            flag: f.flag,
            variant: f.variant,
            should_apply: f.should_apply,
            origin: f.assignment_origin,
        })
        .collect();
    out.sort_by(|a, b| a.flag.cmp(&b.flag));
    Ok(out)
}

/// The same request resolved by Vane (the context parsed from its text).
pub fn vane_resolve(snapshot: &Snapshot, context: &str, flags: &[String]) -> Vec<Outcome> {
    let request = ResolveRequest {
        flags: flags.to_vec(),
        evaluation_context: serde_json::from_str(context).expect("JSON context"),
        client_secret: SECRET.to_owned(),
        apply: true,
        sdk: None,
    };
    let client = snapshot
        .client_for_secret(SECRET)
        .expect("the bench client");
    let resolution = snapshot
        .resolve_confidence(client, &request, None, 1_700_000_000)
        .expect("an object context");
    resolution
        .flags
        .iter()
        .map(|f| Outcome {
            flag: f.flag.key.clone(),
            reason: f.reason().as_str().to_owned(),
            variant: f.variant_name().unwrap_or("").to_owned(),
            should_apply: f.should_apply(),
            origin: match &f.answer {
                Answer::Assigned(a) => a
                    .assigned_by
                    .as_ref()
                    .map_or_else(String::new, |b| b.rule.name.clone()),
                Answer::Evaluated(..) => String::new(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confidence::{context, state};
    use crate::rng::Rng;

    /// Generated states and random contexts: both resolvers agree on every
    /// flag of every request they both answer.
    #[test]
    fn vane_agrees_with_spotifys_resolver_on_generated_states() {
        let (mut requests, mut flags, mut rust_errors, mut matches) = (0, 0, 0, 0);
        let mut differences = Vec::new();
        for seed in 0..6u64 {
            let state = state(seed, 40);
            let pb = protobuf(&state);
            let spotify = spotify_load(&pb);
            let snapshot = Snapshot::from_bytes(&vane_snapshot(&pb)).unwrap();
            let mut rng = Rng::new(1000 + seed);
            for _ in 0..300 {
                let ctx = context(&mut rng).to_string();
                requests += 1;
                let theirs = match spotify_resolve(&spotify, &ctx, &[]) {
                    Ok(t) => t,
                    Err(_) => {
                        rust_errors += 1;
                        continue;
                    }
                };
                let ours = vane_resolve(&snapshot, &ctx, &[]);
                assert_eq!(theirs.len(), ours.len(), "seed {seed} {ctx}");
                for (t, o) in theirs.iter().zip(&ours) {
                    flags += 1;
                    matches += usize::from(t.reason == "RESOLVE_REASON_MATCH");
                    if t != o {
                        differences.push(format!(
                            "seed {seed} {ctx}\n  spotify {t:?}\n  vane    {o:?}"
                        ));
                    }
                }
            }
        }
        eprintln!(
            "differential: {requests} requests, {flags} flags compared ({matches} matches), {rust_errors} requests Spotify's resolver failed, {} differences",
            differences.len()
        );
        assert!(
            matches > flags / 10,
            "the generator must produce matches: {matches}/{flags}"
        );
        assert!(
            differences.is_empty(),
            "{} differences, first:\n{}",
            differences.len(),
            differences
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
