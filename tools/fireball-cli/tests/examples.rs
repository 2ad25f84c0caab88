//! The origin document's five example programs (FIREBALL.md §4), built
//! unmodified from examples/*/*.c into the checked-in .wasm, run on the host
//! simulator; every output is recomputed here, independently, from the ADC
//! samples the simulated device handed out (the runner records them).

use fireball_cli::system::{self, Limit, ModuleSpec, Report, RunConfig};
use fireball_coos::sched::TaskState;
use fireball_sys::hal::sim::Signal;

fn module(path: &str) -> ModuleSpec {
    let full = format!("{}/../../examples/{path}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    ModuleSpec::new(path, bytes, None)
}

fn noise(seed: u64) -> Signal<'static> {
    Signal::Noise { seed, min: 0, max: 4095 }
}

fn run(app: Option<&str>, services: &[&str], ram: usize, adc: Vec<Signal<'static>>, ms: u64, manifest: Option<&str>) -> Report {
    let mut out = Vec::new();
    let report = system::run(RunConfig {
        app: app.map(module),
        services: services.iter().map(|s| module(s)).collect(),
        ram,
        adc,
        limit: Limit::Millis(ms),
        manifest: manifest.map(str::to_string),
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    })
    .unwrap_or_else(|e| panic!("run failed: {e}"));
    for t in &report.tasks {
        assert!(t.fault.is_none(), "{} faulted: {:?}\n{}", t.name, t.fault, String::from_utf8_lossy(&out));
        assert_ne!(t.state, TaskState::Terminated);
    }
    report
}

fn i16s(frame: &[u8]) -> Vec<i16> {
    frame.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// examples/sensor (the 32 KB device): 64 samples of channel 0 per 128-byte frame.
#[test]
fn sensor_frames_are_the_adc_samples_in_order() {
    let r = run(Some("sensor/sensor.wasm"), &[], 32 * 1024, vec![noise(7)], 40, None);
    assert!(r.tx.len() >= 5, "{} frames", r.tx.len());
    let reads: Vec<i16> = r.adc_reads.iter().map(|&(ch, v)| {
        assert_eq!(ch, 0);
        v as i16
    }).collect();
    for (k, frame) in r.tx.iter().enumerate() {
        assert_eq!(frame.len(), 128);
        assert_eq!(i16s(frame), reads[k * 64..(k + 1) * 64], "frame {k}");
    }
    // One ch_send(0, 1) per sample, all drained by the host sink.
    let sink = &r.sinks[0].values;
    assert!(sink.iter().all(|&v| v == 1));
    assert!(sink.len() + 1 >= reads.len() && sink.len() <= reads.len(), "{} sends, {} reads", sink.len(), reads.len());
}

/// examples/aggregator (the 64 KB device): 4 channels, samples[sensor][32] per frame.
#[test]
fn aggregator_frames_hold_each_sensors_window() {
    let r = run(Some("aggregator/aggregator.wasm"), &[], 64 * 1024, (1..=4).map(noise).collect(), 60, None);
    assert!(r.tx.len() >= 3, "{} frames", r.tx.len());
    let reads: Vec<(u8, u16)> = r.adc_reads.clone();
    for (k, frame) in r.tx.iter().enumerate() {
        assert_eq!(frame.len(), 4 * 32 * 2);
        let got = i16s(frame);
        for sensor in 0..4 {
            for idx in 0..32 {
                let (ch, v) = reads[(k * 32 + idx) * 4 + sensor];
                assert_eq!(ch as usize, sensor);
                assert_eq!(got[sensor * 32 + idx], v as i16, "frame {k} sensor {sensor} sample {idx}");
            }
        }
    }
    // Its statistics (min/max/sum over a 256-sample window) never leave the guest;
    // the window check: the frames cover exactly the first 32·k iterations.
    assert!(reads.len() >= r.tx.len() * 32 * 4);
}

/// examples/inference (the 128 KB device): statistics, histogram peak and a
/// linear model over 3 sensors every 256 iterations, in a 27-byte packet.
#[test]
fn inference_packets_match_an_independent_computation() {
    let r = run(Some("inference/inference.wasm"), &[], 128 * 1024, (11..=13).map(noise).collect(), 800, None);
    assert!(r.tx.len() >= 3, "{} packets", r.tx.len());
    let mut min = [0i32; 3];
    let mut max = [0i32; 3];
    let mut sum = [0i32; 3];
    let mut count = [0u32; 3];
    let mut hist = [0u16; 32];
    let mut packets = Vec::new();
    for (it, chunk) in r.adc_reads.chunks_exact(3).enumerate() {
        for (i, &(ch, v)) in chunk.iter().enumerate() {
            assert_eq!(ch as usize, i);
            let s = v as i16;
            // As in the C: min and max restart with the first sample after each reset of count.
            if count[i] == 0 {
                min[i] = s.into();
                max[i] = s.into();
            } else {
                min[i] = min[i].min(s.into());
                max[i] = max[i].max(s.into());
            }
            sum[i] += i32::from(s);
            count[i] += 1;
            if i == 0 {
                let bin = ((i32::from(s) + 32768) as u32 * 32 / 65536).min(31);
                hist[bin as usize] += 1;
            }
        }
        let iteration = it as u32 + 1;
        if iteration.is_multiple_of(256) {
            let mut p = Vec::new();
            let mut result = 0.5f32;
            let mut features = [0f32; 9];
            for i in 0..3 {
                let avg = if count[i] > 0 { sum[i] as f32 / count[i] as f32 } else { 0.0 };
                features[i * 3] = min[i] as f32;
                features[i * 3 + 1] = avg;
                features[i * 3 + 2] = max[i] as f32;
            }
            for f in features {
                result += 0.1f32 * f;
            }
            for i in 0..3 {
                p.extend_from_slice(&(min[i] as i16).to_le_bytes());
                p.extend_from_slice(&(max[i] as i16).to_le_bytes());
                let avg = (sum[i] as u32).checked_div(count[i]).map_or(0, |a| a as i16);
                p.extend_from_slice(&avg.to_le_bytes());
            }
            p.extend_from_slice(&result.to_le_bytes());
            let mut peak = (0usize, 0u16);
            for (b, &c) in hist.iter().enumerate() {
                if c > peak.1 {
                    peak = (b, c);
                }
            }
            p.push(peak.0 as u8);
            p.extend_from_slice(&iteration.to_le_bytes());
            packets.push(p);
            sum = [0; 3];
            count = [0; 3];
        }
    }
    assert_eq!(r.tx.len(), packets.len(), "packets sent vs iterations read");
    for (k, (got, want)) in r.tx.iter().zip(&packets).enumerate() {
        assert_eq!(got.len(), 27);
        assert_eq!(got, want, "packet {k}");
    }
}

/// examples/iir-filter, alone: three cascaded IIR low-passes over channel 0,
/// each result sent on port 2 (a host sink without a manifest).
#[test]
fn iir_service_output_matches_the_filter_computed_here() {
    let r = run(None, &["iir-filter/iir_filter.wasm"], 128 * 1024, vec![noise(5)], 30, None);
    let sent = &r.sinks[0].values;
    assert!(sent.len() > 500, "{} values", sent.len());
    let alpha = [0.1f32, 0.3, 0.5];
    let mut prev = [0f32; 3];
    for (k, &(ch, v)) in r.adc_reads.iter().enumerate().take(sent.len()) {
        assert_eq!(ch, 0);
        let mut filtered = f32::from(v as i16);
        for i in 0..3 {
            prev[i] = alpha[i] * filtered + (1.0 - alpha[i]) * prev[i];
            filtered = prev[i];
        }
        assert_eq!(sent[k] as i32, filtered as i32, "sample {k}");
    }
}

/// examples/mesh-gateway with examples/sensor, wired by the manifest: the
/// app's ch_send(0, 1) is the gateway's ch_recv(1), and the gateway
/// broadcasts its node table over BLE.
#[test]
fn mesh_gateway_broadcasts_the_nodes_the_app_announces() {
    let manifest = std::fs::read_to_string(format!("{}/../../examples/mesh-gateway/gateway.manifest", env!("CARGO_MANIFEST_DIR")))
        .expect("manifest");
    let r = run(Some("sensor/sensor.wasm"), &["mesh-gateway/mesh_gateway.wasm"], 64 * 1024, vec![noise(3)], 40, Some(&manifest));
    assert_eq!(r.ble_profile, Some(1), "hal_ble_init(0x01)");
    // Iteration j of the gateway's loop (two receives) adds node 1 (the value the
    // app sends) until 8 are known, then sends one 8-byte frame per node.
    let frame = [1u8, 0, 0, 0, 0, 0, 0, 0];
    assert!(r.ble.iter().all(|f| f == &frame), "{:?}", r.ble.first());
    // Frames after m whole iterations: 1 + 2 + … + 8, then 8 per iteration.
    let frames_after = |m: usize| (1..=m).map(|j| j.min(8)).sum::<usize>();
    // The gateway completed `receives` ch_recv calls: iteration m = ceil(receives / 2)
    // has begun, so every frame of the iterations before it is out, and at most its own.
    let receives = r.tasks[1].counters.chan_ops as usize;
    let m = receives.div_ceil(2);
    assert!(m > 8, "the table filled up: {m} iterations");
    let sent = r.ble.len();
    assert!(
        (frames_after(m - 1)..=frames_after(m)).contains(&sent),
        "{sent} frames after {receives} receives (iteration {m})"
    );
    // Both ran; the app's TX frames still flow.
    assert!(!r.tx.is_empty());
    let sensor = &r.tasks[0];
    let gateway = &r.tasks[1];
    assert!(sensor.counters.chan_ops > 0 && gateway.counters.chan_ops > 0);
}

/// examples/rust-sensor (fireball-guest): min, max and sum of every 16 samples.
#[test]
fn rust_guest_frames_summarise_each_window() {
    let r = run(Some("rust-sensor/sensor.wasm"), &[], 64 * 1024, vec![noise(9)], 20, None);
    assert!(r.tx.len() >= 10, "{} frames", r.tx.len());
    for (k, frame) in r.tx.iter().enumerate() {
        let w: Vec<i32> = r.adc_reads[k * 16..(k + 1) * 16].iter().map(|&(_, v)| i32::from(v)).collect();
        let want: Vec<u8> = [w.iter().min(), w.iter().max()]
            .into_iter()
            .map(|x| x.copied().unwrap_or(0))
            .chain([w.iter().sum()])
            .flat_map(i32::to_le_bytes)
            .collect();
        assert_eq!(frame, &want, "frame {k}");
    }
}
