//! An in-memory edge for the `worker_request` target: the example tenants'
//! snapshots, pointers and key index, and a parser of the target's input.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;

use std::task::{Context, Poll, Waker};

use vane_resolver::snapshot::{hex, sha256};
use vane_worker::cache::Cache;
use vane_worker::metrics::Metrics;
use vane_worker::pipeline::admin::admin_gate;
use vane_worker::pipeline::ofrep::{serve_ofrep, Edge};
use vane_worker::pipeline::{BodyStream, Clock, RequestHead, RequestLog};
use vane_worker::route::{AdminRoute, OfrepRoute};
use vane_worker::store::{Entry, Pointer, SnapshotSource, StoreError, Via};

/// Client keys of the example tenants (the comments of `examples/`).
pub const CLIENT_KEYS: &[(&str, &str)] = &[
    ("shop-web-key-5e7d1c2b8a94", "shop"),
    ("shop-backend-key-9a4f3e6d0c17", "shop"),
    ("media-web-key-3c8e2f71d046", "media"),
    ("media-tv-key-b71a09e4c5d2", "media"),
];
/// The admin token of the gate.
pub const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789abcdef";

/// A parsed input: the head and the body chunks.
pub struct Request {
    /// Method, path, query, headers.
    pub head: RequestHead,
    /// Body chunks.
    pub chunks: Vec<Vec<u8>>,
}

impl Request {
    /// Parses `METHOD PATH[?QUERY]\nname: value\n...\n\nBODY`; `None` when
    /// the head is not UTF-8 or has no request line.
    pub fn parse(data: &[u8]) -> Option<Request> {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.lines();
        let (method, target) = lines.next()?.split_once(' ')?;
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (target, None),
        };
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Some(Request {
            head: RequestHead {
                method: method.to_owned(),
                path: path.to_owned(),
                query,
                headers,
            },
            chunks: body.split(|b| *b == 0x0c).map(<[u8]>::to_vec).collect(),
        })
    }
}

/// The tenant owning the request's client key, as the key index says.
pub fn key_owner(request: &Request) -> Option<String> {
    let key = vane_worker::auth::client_key(
        request.head.header("authorization"),
        request.head.header("x-api-key"),
    )?;
    CLIENT_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, t)| (*t).to_owned())
}

struct Chunks(std::vec::IntoIter<Vec<u8>>);

impl BodyStream for Chunks {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.next())
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now_ms(&self) -> f64 {
        1_700_000_000_000.0
    }
}

/// KV as the edge reads it, holding the example tenants.
struct Store {
    values: HashMap<String, Vec<u8>>,
}

impl SnapshotSource for Store {
    async fn pointer(&self, tenant: &str) -> Result<Option<Pointer>, StoreError> {
        match self.values.get(&vane_worker::store::pointer_key(tenant)) {
            Some(b) => Pointer::from_json(tenant, b).map(Some),
            None => Ok(None),
        }
    }
    async fn snapshot(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .values
            .get(&vane_worker::store::snapshot_key(tenant, digest))
            .cloned())
    }
    async fn key_owner(&self, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .values
            .get(&vane_worker::store::key_index_key(digest))
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }
    fn trusted_publisher_keys(&self) -> Option<&str> {
        None
    }
}

fn store() -> Store {
    let mut values = HashMap::new();
    for (snapshot, bytes) in crate::example_snapshot_bytes() {
        let tenant = snapshot.info.tenant.clone();
        let digest = snapshot.info.digest.clone();
        values.insert(vane_worker::store::snapshot_key(&tenant, &digest), bytes);
        let pointer = Pointer {
            tenant: tenant.clone(),
            current: Entry {
                digest,
                version: snapshot.info.version,
                activated_at: 0,
                via: Via::Publish,
            },
            history: vec![],
        };
        values.insert(vane_worker::store::pointer_key(&tenant), pointer.to_json());
    }
    for (key, tenant) in CLIENT_KEYS {
        values.insert(
            vane_worker::store::key_index_key(&hex(&sha256(key.as_bytes()))),
            tenant.as_bytes().to_vec(),
        );
    }
    Store { values }
}

/// Polls a future that never waits (every store answer is ready).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

thread_local! {
    static EDGE: RefCell<Option<(Store, Cache, Metrics)>> = const { RefCell::new(None) };
}

/// The `X-Vane-Snapshot` tag of a tenant's example snapshot.
pub fn snapshot_tag(tenant: &str) -> Option<String> {
    static TAGS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    TAGS.get_or_init(|| {
        crate::example_snapshots()
            .iter()
            .map(|s| {
                (
                    s.info.tenant.clone(),
                    vane_worker::ofrep::snapshot_header(&s.info),
                )
            })
            .collect()
    })
    .iter()
    .find(|(t, _)| t == tenant)
    .map(|(_, tag)| tag.clone())
}

/// Runs the OFREP pipeline; returns the status and the `X-Vane-Snapshot`
/// header of the answer (which snapshot answered).
pub fn serve(request: &Request, route: &OfrepRoute) -> (u16, Option<String>) {
    EDGE.with(|edge| {
        let mut edge = edge.borrow_mut();
        let (store, cache, metrics) =
            edge.get_or_insert_with(|| (store(), Cache::new(), Metrics::default()));
        let edge = Edge {
            store: &*store,
            cache,
            metrics,
            clock: &FixedClock,
            ttl_ms: 30_000,
            metrics_flush_ms: 60_000,
        };
        let mut body = Chunks(request.chunks.clone().into_iter());
        let outcome = block_on(serve_ofrep(
            &edge,
            route,
            &request.head,
            &mut body,
            1_700_000_000,
            "fuzz",
        ));
        let tag = outcome.reply.header("x-vane-snapshot").map(str::to_owned);
        (outcome.reply.status, tag)
    })
}

/// Runs the admin gate with [`ADMIN_TOKEN`]; returns the status it decides
/// (200 when it admits the request).
pub fn admin_gate_status(request: &Request, route: &AdminRoute) -> u16 {
    let mut body = Chunks(request.chunks.clone().into_iter());
    let mut log = RequestLog::default();
    match block_on(admin_gate(
        Some(ADMIN_TOKEN),
        &request.head,
        route,
        &mut body,
        &mut log,
    )) {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}
