//! Vane against Spotify's own Confidence resolver (`confidence_resolver`
//! 0.26.1) on the same generated state and requests: state load (their
//! protobuf decode + index against our snapshot decode + verify), one flag,
//! all flags; the state and snapshot sizes are printed once per size.
//! Both resolve with `apply: true` (no resolve token is sealed).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use vane_bench::confidence::{context, state};
use vane_bench::rng::Rng;
use vane_bench::spotify::{protobuf, spotify_load, spotify_resolve, vane_resolve, vane_snapshot};
use vane_resolver::Snapshot;

/// Flags per generated state (`flags / 2 + 2` segments, ~60 % of them with
/// a random 1,000,000-bucket allocation).
const SIZES: [usize; 2] = [10, 100];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("confidence");
    g.sample_size(20);
    for n in SIZES {
        let pb = protobuf(&state(7, n));
        let snapshot_bytes = vane_snapshot(&pb);
        println!(
            "{{\"confidence_state_flags\":{n},\"protobuf_bytes\":{},\"snapshot_bytes\":{}}}",
            pb.len(),
            snapshot_bytes.len()
        );
        let spotify = spotify_load(&pb);
        let snapshot = Snapshot::from_bytes(&snapshot_bytes).unwrap();
        let mut rng = Rng::new(99);
        let contexts: Vec<String> = (0..64).map(|_| context(&mut rng).to_string()).collect();
        let one = vec!["flags/f1".to_owned()];
        g.bench_with_input(BenchmarkId::new("spotify_load", n), &n, |b, _| {
            b.iter_with_large_drop(|| spotify_load(black_box(&pb)))
        });
        g.bench_with_input(BenchmarkId::new("vane_decode_verify", n), &n, |b, _| {
            b.iter_with_large_drop(|| Snapshot::from_bytes(black_box(&snapshot_bytes)).unwrap())
        });
        for (name, flags) in [("one_flag", &one), ("all_flags", &Vec::new())] {
            let mut i = 0;
            g.bench_with_input(
                BenchmarkId::new(format!("spotify_{name}"), n),
                &n,
                |b, _| {
                    b.iter(|| {
                        i = (i + 1) % contexts.len();
                        black_box(spotify_resolve(&spotify, &contexts[i], flags).ok())
                    })
                },
            );
            let mut i = 0;
            g.bench_with_input(BenchmarkId::new(format!("vane_{name}"), n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) % contexts.len();
                    black_box(vane_resolve(&snapshot, &contexts[i], flags))
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
