//! The worker's request handling below the runtime glue: an HTTP-like text
//! (`METHOD PATH[?QUERY]`, header lines `name: value`, an empty line, the
//! body; a form-feed byte in the body splits it into chunks) goes through
//! routing, the admin gate (token, body limit) or the whole OFREP pipeline
//! (limits, client key, key index, tenant scope, snapshot, body reading,
//! context parsing, evaluation, CORS) over an in-memory store holding the
//! example tenants. Never a panic, never a 500, and every OFREP 200 comes
//! from the tenant the client key belongs to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vane_fuzz::worker::{admin_gate_status, key_owner, serve, snapshot_tag, Request};

fuzz_target!(|data: &[u8]| {
    let Some(request) = Request::parse(data) else {
        return;
    };
    match vane_worker::route::route(
        &request.head.method,
        &request.head.path,
        request.head.query.as_deref(),
    ) {
        Err(e) => assert_ne!(e.status(), 500, "routing never answers 500"),
        Ok(vane_worker::route::Route::Admin(route)) => {
            let status = admin_gate_status(&request, &route);
            assert_ne!(status, 500);
        }
        // The Confidence pipeline is not driven by this target yet.
        Ok(vane_worker::route::Route::Confidence(_)) => {}
        Ok(vane_worker::route::Route::Ofrep(route)) => {
            let (status, tag) = serve(&request, &route);
            assert_ne!(status, 500, "the OFREP pipeline never answers 500");
            if status == 200 || tag.is_some() {
                // Whatever answered from a snapshot answered from the key owner's.
                let owner = key_owner(&request).expect("only a known key gets a snapshot");
                assert_eq!(
                    tag,
                    snapshot_tag(&owner),
                    "answered from the key owner's snapshot"
                );
            }
        }
    }
});
