use quantscope::engine::explore::session::*;
use quantscope::engine::explore::{RangeSpec, Settings};
use quantscope::engine::observer::{Granularity, ObserverKind, Tails};
use quantscope::engine::qparams::{QRange, QScheme};
use quantscope::engine::rounding::Rounding;
use quantscope::engine::synth::{Dist, Outliers, SynthSpec};
use std::time::Instant;
fn main() {
    let rows: Vec<(&str, ObserverKind, usize, Option<Outliers>, Granularity)> = vec![
        ("minmax", ObserverKind::MinMax, 1, None, Granularity::PerTensor),
        ("percentile", ObserverKind::Percentile { percentile: 99.99, tails: Tails::Abs }, 1, None, Granularity::PerTensor),
        ("hist 65536", ObserverKind::Histogram { bins: 65536 }, 1, None, Granularity::PerTensor),
        ("per channel 1024", ObserverKind::MinMax, 1024, None, Granularity::PerChannel { axis: 0 }),
        ("entropy 8192", ObserverKind::Entropy { bins: 8192, start_bin: 128 }, 1, None, Granularity::PerTensor),
        ("mse", ObserverKind::Mse, 1, None, Granularity::PerTensor),
        ("entropy 65536 outliers", ObserverKind::Entropy { bins: 65536, start_bin: 128 }, 1, Some(Outliers { fraction: 0.5, magnitude: 1e6 }), Granularity::PerTensor),
    ];
    for (name, observer, ch, outliers, granularity) in rows {
        let spec = SynthSpec { dist: Dist::Normal { mean: 0.0, std: 1.0 }, n: 10_000_000, seed: 42, outliers, channels: ch, spread: 1.0 };
        let settings = Settings { observer, scheme: QScheme::Affine, range: RangeSpec { bits: 8, unsigned: true, narrow: false, reduce_range: false, custom: None }, granularity, rounding: Rounding::HalfEven, manual: None, bins: 256 };
        let req = ExploreRequest { source: TensorSource::Synthetic(spec), settings, channels: (ch > 1).then_some(ChannelsRequest { axis: 0, scheme: QScheme::Affine, range: QRange::QUINT8 }), dynamics: Some(DynamicsRequest { batches: 10, averaging_constant: 0.01, drift: 0.0 }) };
        let mut s = Session::default();
        let t = Instant::now();
        let mut last = t;
        let mut stages = vec![];
        loop {
            match s.step(&req).unwrap() {
                SessionStep::Progress { stage, .. } => { let now = Instant::now(); stages.push(format!("{:?}:{:.0}", std::mem::discriminant(&stage), (now - last).as_secs_f64() * 1e3)); last = now; }
                SessionStep::Done(e) => { println!("{name}: {:.0} ms, sqnr {:?} [{}]", t.elapsed().as_secs_f64() * 1e3, e.view.map(|v| v.metrics.sqnr_db), stages.iter().filter(|s| !s.ends_with(":0")).cloned().collect::<Vec<_>>().join(" ")); break; }
            }
        }
    }
}
