//! `cargo run --release -p swarm-sim --example simrun -- SCENARIO [SEED] [STRATEGY]`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let seed: u64 = args.get(2).map_or(1, |s| s.parse().expect("seed"));
    let strategy = args
        .get(3)
        .map(|s| swarm_sim::Strategy::parse(s).expect("strategy"));
    let text = std::fs::read_to_string(path).expect("read");
    let scenario = swarm_sim::Scenario::parse(&text, "x").expect("parse");
    let t0 = std::time::Instant::now();
    let out = swarm_sim::run(&scenario, seed, strategy, &mut |_| {});
    let wall = t0.elapsed().as_secs_f64();
    let r = &out.record;
    println!(
        "makespan {:?} bound {:.2} ratio {:?} origin copies {:.3} events {} wall {:.2}s ev/s {:.0} end {:.1}",
        r.makespan_s, r.bound_s, r.makespan_over_bound(), r.origin_copies(), out.events, wall,
        out.events as f64 / wall, out.end_s
    );
    if let Ok(path) = std::env::var("SIMRUN_RECORD") {
        std::fs::write(path, r.to_json_pretty()).expect("write record");
    }
    for n in &r.nodes {
        println!(
            "{} up {} down {} done {:?}",
            n.id, n.uploaded_bytes, n.downloaded_bytes, n.completed_s
        );
    }
}
