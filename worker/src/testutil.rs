//! Test fixtures shared by the unit tests: real snapshots built with the
//! resolver's own encoder, and a minimal executor for futures that never
//! wait (the in-memory store used by the cache and admin tests).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use serde_json::{json, Map};
use vane_resolver::model::{Body, Client, Flag, Targeting, Variant};
use vane_resolver::Snapshot;

use crate::auth::key_digest;
use crate::pipeline::Clock;
use crate::request::BodyStream;
use crate::store::{
    key_index_key, pointer_key, snapshot_key, AdminStore, Claim, Pointer, SnapshotSource,
    StoreError,
};

/// Tenant name used by most tests.
pub const SHOP: &str = "shop";
/// Second tenant, for isolation tests.
pub const MEDIA: &str = "media";

/// The client key of a test tenant: `key-{tenant}`.
pub fn client_key(tenant: &str) -> String {
    format!("key-{tenant}")
}

/// Snapshot bytes for `tenant`: flags `banner-text` (static, value
/// `banner`), `broken` (targeting that failed to compile) and `dark-mode`
/// (disabled); one client whose key is [`client_key`]`(tenant)`.
pub fn snapshot_bytes(tenant: &str, version: u64, banner: &str) -> Vec<u8> {
    let flag = |key: &str, targeting: Targeting, disabled: bool| Flag {
        key: key.to_owned(),
        variants: vec![Variant {
            name: "plain".to_owned(),
            value: json!(banner),
        }],
        default_variant: Some(0),
        disabled,
        targeting,
        metadata: Map::new(),
    };
    let body = Body {
        flags: vec![
            flag("banner-text", Targeting::Static, false),
            flag(
                "broken",
                Targeting::Invalid("$ref 'missing' is not defined".into()),
                false,
            ),
            flag("dark-mode", Targeting::Static, true),
        ],
        clients: vec![Client {
            name: "web".to_owned(),
            key_digests: vec![key_digest(&client_key(tenant))],
        }],
        cors_origins: vec![],
        metadata: Map::new(),
        spaces: Vec::new(),
        exposure_log: Default::default(),
    };
    Snapshot::encode(tenant, version, 1_700_000_000, "test", &body).unwrap()
}

/// The decoded [`snapshot_bytes`] with banner `Welcome`.
pub fn snapshot(tenant: &str, version: u64) -> Snapshot {
    Snapshot::from_bytes(&snapshot_bytes(tenant, version, "Welcome")).expect("test snapshot")
}

/// Runs a future that completes without waiting on anything external.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A future that is pending once, then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs futures concurrently on one thread, polling each in turn until all
/// are done (futures that wait on [`MemoryStore::yield_on_access`] then
/// interleave as requests of one isolate do).
pub fn run_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut cx = TaskContext::from_waker(Waker::noop());
    while outputs.iter().any(Option::is_none) {
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    *output = Some(out);
                }
            }
        }
    }
    outputs.into_iter().flatten().collect()
}

/// The worker's storage in memory: a KV namespace with the worker's layout
/// (see [`crate::store`]), the tenants' authoritative pointers and the key
/// registry. Reads or writes can be made to fail (all, or the n-th write
/// from now), values overwritten to simulate corruption, and every access
/// made to wait once so that concurrent requests interleave.
#[derive(Default)]
pub struct MemoryStore {
    values: RefCell<HashMap<String, Vec<u8>>>,
    authority: RefCell<HashMap<String, Pointer>>,
    registry: RefCell<HashMap<String, String>>,
    failing_reads: Cell<bool>,
    failing_writes: Cell<bool>,
    failing_write: Cell<Option<usize>>,
    reads: Cell<usize>,
    yielding: Cell<bool>,
    trusted_publisher_keys: Option<String>,
}

impl MemoryStore {
    /// The same store (same values) with `TRUSTED_PUBLISHER_KEYS` = `json`.
    pub fn trusting(self, json: &str) -> MemoryStore {
        MemoryStore {
            trusted_publisher_keys: Some(json.to_owned()),
            ..self
        }
    }

    /// Makes every read fail (`true`) or work again.
    pub fn fail_reads(&self, fail: bool) {
        self.failing_reads.set(fail);
    }

    /// Makes every write fail (`true`) or work again.
    pub fn fail_writes(&self, fail: bool) {
        self.failing_writes.set(fail);
    }

    /// Overwrites a raw value.
    pub fn set(&self, key: &str, value: &[u8]) {
        self.values
            .borrow_mut()
            .insert(key.to_owned(), value.to_vec());
    }

    /// Deletes a raw value.
    pub fn remove(&self, key: &str) {
        self.values.borrow_mut().remove(key);
    }

    /// A raw value.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.values.borrow().get(key).cloned()
    }

    /// True when nothing was ever written.
    pub fn is_empty(&self) -> bool {
        self.values.borrow().is_empty()
            && self.authority.borrow().is_empty()
            && self.registry.borrow().is_empty()
    }

    /// How many reads were made.
    pub fn reads(&self) -> usize {
        self.reads.get()
    }

    /// Makes every read and write wait once (`true`), as real storage
    /// does, so that concurrent futures interleave (see [`run_all`]).
    pub fn yield_on_access(&self, on: bool) {
        self.yielding.set(on);
    }

    async fn access(&self) {
        if self.yielding.get() {
            YieldOnce(false).await;
        }
    }

    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.reads.set(self.reads.get() + 1);
        if self.failing_reads.get() {
            return Err(StoreError("KV unreachable".into()));
        }
        Ok(self.get(key))
    }

    /// Makes the `n`-th write from now (1-based: KV puts, a claim, a
    /// pointer) fail, once.
    pub fn fail_write_number(&self, n: usize) {
        self.failing_write.set(Some(n));
    }

    /// The authoritative pointer of a tenant.
    pub fn authority(&self, tenant: &str) -> Option<Pointer> {
        self.authority.borrow().get(tenant).cloned()
    }

    /// Counts a write; fails it when told to.
    fn write_op(&self) -> Result<(), StoreError> {
        let countdown = self.failing_write.get();
        if let Some(n) = countdown {
            self.failing_write.set(n.checked_sub(1).filter(|&n| n > 0));
        }
        if self.failing_writes.get() || countdown == Some(1) {
            return Err(StoreError("write failed".into()));
        }
        Ok(())
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write_op()?;
        self.set(key, value);
        Ok(())
    }
}

impl SnapshotSource for MemoryStore {
    async fn pointer(&self, tenant: &str) -> Result<Option<Pointer>, StoreError> {
        self.access().await;
        match self.read(&pointer_key(tenant))? {
            Some(bytes) => Pointer::from_json(tenant, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn snapshot(&self, tenant: &str, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.access().await;
        self.read(&snapshot_key(tenant, digest))
    }

    async fn key_owner(&self, digest: &str) -> Result<Option<String>, StoreError> {
        self.access().await;
        Ok(self
            .read(&key_index_key(digest))?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    fn trusted_publisher_keys(&self) -> Option<&str> {
        self.trusted_publisher_keys.as_deref()
    }
}

impl AdminStore for MemoryStore {
    async fn current(&self, tenant: &str) -> Result<Option<Pointer>, StoreError> {
        self.access().await;
        self.reads.set(self.reads.get() + 1);
        if self.failing_reads.get() {
            return Err(StoreError("Durable Object storage unreachable".into()));
        }
        Ok(self.authority(tenant))
    }

    async fn put_snapshot(
        &self,
        tenant: &str,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.access().await;
        self.write(&snapshot_key(tenant, digest), bytes)
    }

    async fn claim_keys(&self, tenant: &str, digests: &[String]) -> Result<Claim, StoreError> {
        self.access().await;
        self.write_op()?;
        let mut registry = self.registry.borrow_mut();
        let taken = digests
            .iter()
            .find_map(|d| registry.get(d).filter(|o| *o != tenant).map(|o| (d, o)));
        if let Some((digest, owner)) = taken {
            return Ok(Claim::Conflict {
                digest: digest.clone(),
                owner: owner.clone(),
            });
        }
        for d in digests {
            registry.insert(d.clone(), tenant.to_owned());
        }
        Ok(Claim::Granted)
    }

    async fn put_pointer(&self, pointer: &Pointer) -> Result<(), StoreError> {
        self.access().await;
        self.write_op()?;
        self.authority
            .borrow_mut()
            .insert(pointer.tenant.clone(), pointer.clone());
        Ok(())
    }

    async fn put_edge_copy(&self, pointer: &Pointer, digests: &[String]) -> Result<(), StoreError> {
        for d in digests {
            self.access().await;
            self.write(&key_index_key(d), pointer.tenant.as_bytes())?;
        }
        self.access().await;
        self.write(&pointer_key(&pointer.tenant), &pointer.to_json())
    }
}

/// A body stream of given chunks, optionally failing after them, counting
/// how many times it was asked for a chunk.
pub struct Chunks {
    chunks: std::collections::VecDeque<Vec<u8>>,
    failure: Option<String>,
    asked: usize,
}

impl Chunks {
    /// A body of these bytes in one chunk (none when empty).
    pub fn whole(bytes: &[u8]) -> Chunks {
        Chunks::of(if bytes.is_empty() {
            vec![]
        } else {
            vec![bytes.to_vec()]
        })
    }

    /// Chunks of `b'x'` of the given sizes.
    pub fn sized(sizes: &[usize]) -> Chunks {
        Chunks::of(sizes.iter().map(|&n| vec![b'x'; n]).collect())
    }

    /// Chunks of the given sizes, then a stream failure with `message`.
    pub fn failing_after(sizes: &[usize], message: &str) -> Chunks {
        Chunks {
            failure: Some(message.to_owned()),
            ..Chunks::sized(sizes)
        }
    }

    fn of(chunks: Vec<Vec<u8>>) -> Chunks {
        Chunks {
            chunks: chunks.into(),
            failure: None,
            asked: 0,
        }
    }

    /// Every byte not yet read, as one body.
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.iter().flatten().copied().collect()
    }

    /// How many chunks (or ends) were asked for.
    pub fn chunks_read(&self) -> usize {
        self.asked
    }
}

impl BodyStream for Chunks {
    async fn chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        self.asked += 1;
        match self.chunks.pop_front() {
            Some(chunk) => Ok(Some(chunk)),
            None => match &self.failure {
                Some(message) => Err(message.clone()),
                None => Ok(None),
            },
        }
    }
}

/// A clock that advances by 1 ms each time it is read.
#[derive(Default)]
pub struct StepClock(Cell<f64>);

impl Clock for StepClock {
    fn now_ms(&self) -> f64 {
        let now = self.0.get();
        self.0.set(now + 1.0);
        now
    }
}
