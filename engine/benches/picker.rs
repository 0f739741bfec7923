//! Picker decisions per second at 10 000 pieces × 50 peers.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use swarm_engine::testkit::PickerBench;

fn picker(c: &mut Criterion) {
    let mut group = c.benchmark_group("picker");
    group.throughput(Throughput::Elements(1));
    let mut bench = PickerBench::new(10_000, 50);
    group.bench_function("decision_10000_pieces_50_peers", |b| {
        b.iter(|| bench.decide())
    });
    group.finish();
}

criterion_group!(benches, picker);
criterion_main!(benches);
