//! The resolver's hot loops, measured inside WebAssembly.
//!
//! `scripts/bench.sh` builds this crate for `wasm32-unknown-unknown` with
//! the worker's release settings and runs it in Node, whose V8 is the
//! engine workerd embeds; the `wasm-harness-native` binary runs the same
//! loops natively, so the wasm/native ratio compares identical code.
//!
//! The module has raw exports (no wasm-bindgen): the host copies inputs
//! into memory from [`alloc`], loads them, then times calls that each run
//! a loop of `n` iterations inside wasm, so the JS↔wasm boundary is
//! crossed once per measurement, not once per evaluation.

use std::cell::RefCell;
use std::hint::black_box;

use vane_resolver::{Context, Snapshot, SnapshotBytes};

/// The host's SHA-256, as the worker has WebCrypto's: in wasm an import
/// (`host.sha256(ptr, len, out)`, Node's `crypto` in `run.mjs`), natively
/// the resolver's own (the sha2 crate, SHA-NI where the CPU has it).
pub fn host_sha256(bytes: &[u8]) -> [u8; 32] {
    #[cfg(target_arch = "wasm32")]
    {
        #[link(wasm_import_module = "host")]
        extern "C" {
            fn sha256(ptr: *const u8, len: usize, out: *mut u8);
        }
        let mut out = [0u8; 32];
        // SAFETY: the host reads `len` bytes at `ptr` and writes 32 at `out`.
        unsafe { sha256(bytes.as_ptr(), bytes.len(), out.as_mut_ptr()) };
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        vane_resolver::snapshot::sha256(bytes)
    }
}

/// How a cold isolate opens snapshot bytes: [`open_own`] or [`open_host`].
pub type Open = fn(&[u8]) -> Snapshot;

/// [`Snapshot::open`], the body hashed by the resolver (the sha2 crate).
///
/// Panics when the bytes are not a valid snapshot (the harness feeds
/// snapshots the builder wrote), as every loop here.
pub fn open_own(bytes: &[u8]) -> Snapshot {
    Snapshot::open(bytes).expect("a valid snapshot")
}

/// [`Snapshot::open`] with the body hashed by [`host_sha256`], as the
/// worker opens snapshots.
pub fn open_host(bytes: &[u8]) -> Snapshot {
    let read = SnapshotBytes::read(bytes).expect("a valid snapshot");
    let digest = host_sha256(read.body());
    read.open(digest).expect("a valid snapshot")
}

/// Decodes and verifies `bytes` `n` times; returns the flag count.
pub fn decode_n(bytes: &[u8], n: u32) -> usize {
    let mut flags = 0;
    for _ in 0..n {
        let s = Snapshot::from_bytes(black_box(bytes)).expect("a valid snapshot");
        flags = s.flag_count();
    }
    flags
}

/// Opens and verifies `bytes` `n` times with `open` (no flag decoded);
/// returns the flag count.
pub fn open_n(bytes: &[u8], open: Open, n: u32) -> usize {
    let mut flags = 0;
    for _ in 0..n {
        flags = open(black_box(bytes)).flag_count();
    }
    flags
}

/// sha256 of `bytes`, `n` times (the digest check's share of a decode,
/// over as many bytes as the whole snapshot); returns the last digest's
/// first byte.
pub fn sha256_n(bytes: &[u8], n: u32) -> u8 {
    let mut first = 0;
    for _ in 0..n {
        first = vane_resolver::snapshot::sha256(black_box(bytes))[0];
    }
    first
}

/// What a cold isolate does for its first single-flag answer, `n` times:
/// opens and verifies `bytes` with `open` (envelope, digest, string table,
/// flag index; no flag decoded) and evaluates `key`, which decodes that
/// flag alone. Returns how many results had a value.
pub fn cold_flag_n(bytes: &[u8], key: &str, ctx: &Context, open: Open, n: u32) -> u32 {
    let mut with_value = 0;
    for _ in 0..n {
        let s = open(black_box(bytes));
        let r = s.evaluate(black_box(key), black_box(ctx));
        with_value += u32::from(r.value.is_some());
    }
    with_value
}

/// Evaluates flag `key` `n` times; returns how many results had a value.
pub fn eval_flag_n(s: &Snapshot, key: &str, ctx: &Context, n: u32) -> u32 {
    let mut with_value = 0;
    for _ in 0..n {
        let r = s.evaluate(black_box(key), black_box(ctx));
        with_value += u32::from(r.value.is_some());
    }
    with_value
}

/// Evaluates every flag `n` times; returns the result count of the last pass.
pub fn eval_all_n(s: &Snapshot, ctx: &Context, n: u32) -> usize {
    let mut count = 0;
    for _ in 0..n {
        count = black_box(s.evaluate_all(black_box(ctx))).len();
    }
    count
}

/// Evaluation time of the harness contexts (the criterion benches' too).
pub const NOW: i64 = 1_780_272_000;

#[derive(Default)]
struct State {
    snapshot_bytes: Vec<u8>,
    snapshot: Option<Snapshot>,
    context: Option<Context>,
    key: String,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn input() -> Vec<u8> {
    INPUT.with(|i| std::mem::take(&mut *i.borrow_mut()))
}

/// Makes room for `len` input bytes and returns where the host writes
/// them; the next `load_*` call takes them.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    INPUT.with(|i| {
        let mut i = i.borrow_mut();
        *i = vec![0; len];
        i.as_mut_ptr()
    })
}

/// Takes the input as snapshot bytes and decodes them once; returns the
/// flag count, or -1 when they are not a snapshot.
#[no_mangle]
pub extern "C" fn load_snapshot() -> i32 {
    let bytes = input();
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let decoded = Snapshot::from_bytes(&bytes).ok();
        let count = decoded.as_ref().map_or(-1, |d| d.flag_count() as i32);
        s.snapshot = decoded;
        s.snapshot_bytes = bytes;
        count
    })
}

/// Takes the input as a JSON context; returns 0, or -1 when it is not one.
#[no_mangle]
pub extern "C" fn load_context() -> i32 {
    let bytes = input();
    let ctx = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| Context::from_json(t, NOW).ok());
    STATE.with(|s| {
        let ok = ctx.is_some();
        s.borrow_mut().context = ctx;
        if ok {
            0
        } else {
            -1
        }
    })
}

/// Takes the input as the flag key of [`bench_flag`].
#[no_mangle]
pub extern "C" fn load_key() {
    let key = String::from_utf8_lossy(&input()).into_owned();
    STATE.with(|s| s.borrow_mut().key = key);
}

/// Decodes and verifies the loaded snapshot bytes `n` times.
#[no_mangle]
pub extern "C" fn bench_decode(n: u32) -> u32 {
    STATE.with(|s| decode_n(&s.borrow().snapshot_bytes, n) as u32)
}

/// Opens the loaded snapshot bytes `n` times; the host hashes the body
/// when `host` is not 0.
#[no_mangle]
pub extern "C" fn bench_open(n: u32, host: u32) -> u32 {
    STATE.with(|s| open_n(&s.borrow().snapshot_bytes, opener(host), n) as u32)
}

/// Hashes the loaded snapshot bytes `n` times.
#[no_mangle]
pub extern "C" fn bench_sha256(n: u32) -> u32 {
    STATE.with(|s| u32::from(sha256_n(&s.borrow().snapshot_bytes, n)))
}

/// Opens the loaded snapshot bytes and answers the loaded key against the
/// loaded context, `n` times ([`cold_flag_n`]); the host hashes the body
/// when `host` is not 0.
#[no_mangle]
pub extern "C" fn bench_cold_flag(n: u32, host: u32) -> u32 {
    STATE.with(|s| {
        let s = s.borrow();
        match &s.context {
            Some(ctx) => cold_flag_n(&s.snapshot_bytes, &s.key, ctx, opener(host), n),
            None => u32::MAX,
        }
    })
}

fn opener(host: u32) -> Open {
    if host == 0 {
        open_own
    } else {
        open_host
    }
}

/// Evaluates the loaded key `n` times against the loaded context.
#[no_mangle]
pub extern "C" fn bench_flag(n: u32) -> u32 {
    STATE.with(|s| {
        let s = s.borrow();
        match (&s.snapshot, &s.context) {
            (Some(snap), Some(ctx)) => eval_flag_n(snap, &s.key, ctx, n),
            _ => u32::MAX,
        }
    })
}

/// Evaluates every flag `n` times against the loaded context.
#[no_mangle]
pub extern "C" fn bench_all(n: u32) -> u32 {
    STATE.with(|s| {
        let s = s.borrow();
        match (&s.snapshot, &s.context) {
            (Some(snap), Some(ctx)) => eval_all_n(snap, ctx, n) as u32,
            _ => u32::MAX,
        }
    })
}
