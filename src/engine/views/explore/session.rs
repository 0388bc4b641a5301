//! The Explorer's work as a resumable session: the tensor (drawn a slice at a time, or handed
//! over whole), its summary, the view and the per-channel and dynamics panels, each kept until
//! what it depends on changes.
//!
//! The worker steps a session between its messages, so a newer request replaces an older one
//! within a step, and what the two share (the tensor, a half-drawn tensor, the summary) is not
//! computed again; the page runs the same session to the end when the work is small.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::{channels, explore_observed, explore_summarized, ChannelView, Settings, View};
use crate::engine::views::dynamics::{self, Step};
use crate::engine::views::formats::{self, FormatRequest, FormatView, Kept};
use crate::engine::observer::{Clip, ClipSearch, Common, Granularity, ObserverKind, Ranges};
use crate::engine::quantizer::qparams::{QRange, QScheme};
use crate::engine::statistics::stats::{summarize, Summary};
use crate::engine::synth::{Sampler, SynthSpec};
use crate::engine::tensor::Tensor;

/// Values drawn per step: about 30 ms of drawing in the browser.
pub const DRAW_SLICE: usize = 1 << 19;

/// Value × candidate evaluations of the MSE observer's search per step: about 25 ms in the
/// browser (the search over 10M values takes some 90 steps, 2.3 s).
pub const SEARCH_STEP: usize = 1 << 24;

/// Progress units the MSE search counts for (each slice of drawing and each other part is one).
const SEARCH_UNITS: usize = 100;

/// Where the tensor comes from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum TensorSource {
    Synthetic(SynthSpec),
    /// A tensor handed to the session with [`Session::load`] under this key.
    Loaded { key: u64 },
}

/// The per-channel panel's question: min/max per tensor against per channel along `axis`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelsRequest {
    pub axis: usize,
    pub scheme: QScheme,
    pub range: QRange,
}

/// The dynamics panel's question (see [`dynamics::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DynamicsRequest {
    pub split: dynamics::Split,
    pub averaging_constant: f32,
    pub drift: f32,
}

/// Everything the Explorer shows for one state of its controls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExploreRequest {
    pub source: TensorSource,
    pub settings: Settings,
    pub channels: Option<ChannelsRequest>,
    pub dynamics: Option<DynamicsRequest>,
    /// A number format to show in place of the integer grid's view.
    pub format: Option<FormatRequest>,
}

impl ExploreRequest {
    /// About how long the request takes in the browser (ms, wasm on this project's machine kind)
    /// for a tensor of `len` values, from scratch: the page computes it itself when that fits in
    /// a frame, and the worker does otherwise. Rough by design, and on the safe side.
    pub fn estimated_ms(&self, len: usize) -> f64 {
        use crate::engine::observer::ObserverKind::*;
        let m = len as f64 / 1e6;
        // The tensor is drawn and summarized, and the panels computed, even when the view's
        // settings cannot work (the view alone then fails, at once).
        let draw = match self.source {
            TensorSource::Synthetic(spec) => m * if matches!(spec.dist, crate::engine::synth::Dist::StudentT { .. }) { 150.0 } else { 70.0 },
            TensorSource::Loaded { .. } => 0.0,
        };
        let panels = self.channels.map_or(0.0, |_| m * 20.0) + self.dynamics.map_or(0.0, |d| m * 5.0 + d.split.most_batches(len) as f64 * 0.01);
        let summary = m * 3.0;
        let view = match self.settings.range.range() {
            Ok(range) if self.settings.observer.build(crate::engine::observer::Common { scheme: self.settings.scheme, range }, self.settings.granularity).is_ok() => {
                let observe = match self.settings.observer {
                    MinMax | MovingAverage { .. } => m * 6.0,
                    Percentile { .. } => m * 60.0,
                    Histogram { bins } => m * 20.0 + bins as f64 * 2e-3,
                    Entropy { bins, .. } => {
                        let levels = range.levels().max(2) as f64;
                        m * 25.0 + bins as f64 * 1e-3 + (bins as f64 - levels).max(0.0) * levels * 1e-5
                    }
                    Mse => m * 250.0,
                };
                let rounding = if matches!(self.settings.rounding, crate::engine::quantizer::rounding::Rounding::Stochastic { .. }) { m * 8.0 } else { 0.0 };
                m * 8.0 + observe + rounding
            }
            _ => 0.0,
        };
        let format = self.format.as_ref().map_or(0.0, |f| m * format_ms_per_million(f));
        draw + summary + view + panels + format
    }
}

/// About how long a format's quantization, measure and view take per million values in the
/// browser (ms): the K-quants search each sub-block's scale, the rest are one or two passes.
fn format_ms_per_million(f: &FormatRequest) -> f64 {
    use crate::engine::formats::gguf::GgufType;
    use crate::engine::formats::spec::Format;
    match f.format() {
        Ok(Format::Gguf(GgufType::K(_))) => 160.0,
        Ok(Format::Int { .. } | Format::Nf4 { .. } | Format::Gguf(_)) => 40.0,
        Ok(_) => 30.0,
        Err(_) => 0.0,
    }
}

/// The answer: the view, and each panel asked for. Errors are sentences for the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explored {
    pub name: String,
    pub shape: Vec<usize>,
    pub view: Result<View, String>,
    pub channels: Option<Result<ChannelView, String>>,
    pub dynamics: Option<Result<Vec<Step>, String>>,
    pub format: Option<Result<FormatView, String>>,
}

/// What a step was busy with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Drawing the synthetic values: so many of so many.
    Drawing { drawn: usize, of: usize },
    Summarizing,
    /// The MSE observer's search for its clipping range, `percent` done.
    Searching { percent: u8 },
    /// Calibrating, quantizing and measuring.
    Quantizing,
    Channels,
    Dynamics,
    /// Quantizing to a number format and measuring it.
    Format,
    /// The side-by-side comparison of that many formats.
    Comparing { formats: usize },
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionStep {
    /// Still working: `done` of about `total` steps, the last of which was `stage`.
    Progress { done: usize, total: usize, stage: Stage },
    /// The answer (boxed: a progress step is small, and most steps are progress).
    Done(Box<Explored>),
}

/// The held tensor and what was computed from it.
struct Held {
    source: TensorSource,
    tensor: Rc<Tensor>,
    summary: Option<Summary>,
    /// The MSE observer's search, for the grid it was run for.
    search: Option<MseSearch>,
    view: Option<(Settings, Result<View, String>)>,
    channels: Option<(ChannelsRequest, Result<ChannelView, String>)>,
    dynamics: Option<(DynamicsRequest, Result<Vec<Step>, String>)>,
    /// A format's quantization (kept while only the drawn block changes), and its view.
    format: Option<((String, crate::engine::formats::spec::Params), Result<Kept, String>)>,
    format_view: Option<(FormatRequest, Result<FormatView, String>)>,
}

/// The grid the MSE observer searches for, when `s` asks for it per tensor (its search is the
/// one observer run in steps; the others take one step each).
fn searched(s: &Settings) -> Option<Common> {
    let range = s.range.range().ok()?;
    (s.observer == ObserverKind::Mse && s.granularity == Granularity::PerTensor).then_some(Common { scheme: s.scheme, range })
}

/// The MSE observer's search over the held tensor, as [`crate::engine::observer::Mse`] runs it.
struct MseSearch {
    common: Common,
    clip: Clip,
    /// The tensor's finite values, when it has others (the observer sees only those).
    finite: Option<Vec<f32>>,
    search: ClipSearch,
    answer: Option<Ranges>,
}

impl MseSearch {
    fn new(xs: &[f32], summary: &Summary, common: Common) -> MseSearch {
        let finite = (summary.nan + summary.inf > 0).then(|| xs.iter().copied().filter(|x| x.is_finite()).collect::<Vec<f32>>());
        let clip = Clip { common, min: summary.min, max: summary.max };
        let search = ClipSearch::new(finite.as_deref().unwrap_or(xs), common.range, &|t| clip.qparams(t));
        MseSearch { common, clip, finite, search, answer: None }
    }

    /// One step of the search over `xs` (the held tensor); how far it is, from 0 to 1.
    fn step(&mut self, xs: &[f32]) -> f64 {
        let xs = self.finite.as_deref().unwrap_or(xs);
        let clip = self.clip;
        if let Some((t, _)) = self.search.step(xs, &|t| clip.qparams(t), SEARCH_STEP) {
            self.answer = Some(clip.ranges(t));
        }
        self.search.progress(xs.len())
    }
}

/// The Explorer's session.
#[derive(Default)]
pub struct Session {
    held: Option<Held>,
    /// A synthetic tensor being drawn.
    drawing: Option<(SynthSpec, Sampler)>,
    /// Tensors handed over, by key (the newest last; a few are kept).
    loaded: Vec<(u64, Rc<Tensor>)>,
}

/// Loaded tensors kept besides the one held.
const LOADED_KEPT: usize = 2;

impl Session {
    /// Hands the session a tensor, to be asked for as [`TensorSource::Loaded`] with `key`.
    pub fn load(&mut self, key: u64, tensor: Rc<Tensor>) {
        self.loaded.retain(|(k, _)| *k != key);
        self.loaded.push((key, tensor));
        if self.loaded.len() > LOADED_KEPT {
            self.loaded.remove(0);
        }
    }

    /// Whether a tensor was handed over under `key`.
    pub fn has_loaded(&self, key: u64) -> bool {
        self.loaded.iter().any(|(k, _)| *k == key)
    }

    /// The tensor of `source`, once it is held.
    pub fn tensor(&self, source: &TensorSource) -> Option<Rc<Tensor>> {
        self.held.as_ref().filter(|h| h.source == *source).map(|h| h.tensor.clone())
    }

    /// Makes the tensor of `source` the held one: `Ok(None)` once it is, `Ok(Some((drawn, of)))`
    /// after drawing one more slice of it.
    pub fn hold(&mut self, source: &TensorSource) -> Result<Option<(usize, usize)>, String> {
        if self.held.as_ref().is_some_and(|h| h.source == *source) {
            return Ok(None);
        }
        let tensor = match *source {
            TensorSource::Synthetic(spec) => {
                if self.drawing.as_ref().is_none_or(|(s, _)| *s != spec) {
                    self.drawing = Some((spec, spec.sampler().map_err(|e| e.to_string())?));
                }
                let (_, sampler) = self.drawing.as_mut().expect("set just above");
                let (drawn, of) = sampler.progress();
                if drawn < of {
                    return Ok(Some((sampler.draw(DRAW_SLICE), of)));
                }
                let (spec, sampler) = self.drawing.take().expect("set just above");
                let data = spec.finish(sampler);
                Rc::new(Tensor { name: "synthetic".into(), shape: spec.shape().to_vec(), data, stored_as: "f32".into() })
            }
            TensorSource::Loaded { key } => match self.loaded.iter().find(|(k, _)| *k == key) {
                Some((_, t)) => t.clone(),
                None => return Err(format!("the tensor {key} was never handed to the worker")),
            },
        };
        self.held = Some(Held { source: *source, tensor, summary: None, search: None, view: None, channels: None, dynamics: None, format: None, format_view: None });
        Ok(None)
    }

    /// Does one bounded piece of `request`'s work (a slice of drawing, the summary, the view, a
    /// panel), or returns the whole answer when nothing is left. An error is about the source
    /// (bad distribution parameters, a tensor never loaded): the other errors are the answer's.
    pub fn step(&mut self, request: &ExploreRequest) -> Result<SessionStep, String> {
        // Progress counts slices of drawing, then the summary, the search, the view and each
        // panel asked for.
        let search_units = if searched(&request.settings).is_some() { SEARCH_UNITS } else { 0 };
        let later = 1 + search_units + 1 + usize::from(request.channels.is_some()) + usize::from(request.dynamics.is_some()) + usize::from(request.format.is_some());
        let slices = |n: usize| n.div_ceil(DRAW_SLICE);
        if let Some((drawn, of)) = self.hold(&request.source)? {
            return Ok(SessionStep::Progress { done: slices(drawn), total: slices(of) + later, stage: Stage::Drawing { drawn, of } });
        }
        let drawn = match request.source {
            TensorSource::Synthetic(spec) => slices(spec.shape().iter().product()),
            TensorSource::Loaded { .. } => 0,
        };
        let h = self.held.as_mut().expect("held from here on");
        let total = drawn + later;
        let progress = |done: usize, stage| Ok(SessionStep::Progress { done: drawn + done, total, stage });
        let Some(summary) = h.summary else {
            h.summary = Some(summarize(&h.tensor.data));
            return progress(1, Stage::Summarizing);
        };
        if h.view.as_ref().is_none_or(|(s, _)| *s != request.settings) {
            let t = &h.tensor;
            let view = match searched(&request.settings).filter(|_| summary.count > 0) {
                Some(common) => {
                    if h.search.as_ref().is_none_or(|m| m.common != common) {
                        h.search = Some(MseSearch::new(&t.data, &summary, common));
                    }
                    let m = h.search.as_mut().expect("set just above");
                    let Some(observed) = m.answer.clone() else {
                        let done = m.step(&t.data);
                        return progress(1 + (done * SEARCH_UNITS as f64) as usize, Stage::Searching { percent: (done * 100.0) as u8 });
                    };
                    explore_observed(&t.data, &t.shape, &summary, &request.settings, observed)
                }
                None => explore_summarized(&t.data, &t.shape, &summary, &request.settings),
            };
            h.view = Some((request.settings, view.map_err(|e| format!("Cannot quantize this tensor: {e}"))));
            return progress(2 + search_units, Stage::Quantizing);
        }
        if let Some(c) = request.channels.filter(|c| h.channels.as_ref().is_none_or(|(r, _)| r != c)) {
            let t = &h.tensor;
            h.channels = Some((c, channels(&t.data, &t.shape, c.axis, c.scheme, c.range).map_err(|e| e.to_string())));
            return progress(3 + search_units, Stage::Channels);
        }
        if let Some(d) = request.dynamics.filter(|d| h.dynamics.as_ref().is_none_or(|(r, _)| r != d)) {
            let steps = dynamics::run(&h.tensor.data, &h.tensor.shape, d.split, d.averaging_constant, d.drift);
            h.dynamics = Some((d, steps));
            return progress(later - usize::from(request.format.is_some()), Stage::Dynamics);
        }
        if let Some(f) = request.format.as_ref().filter(|f| h.format_view.as_ref().is_none_or(|(r, _)| r != *f)) {
            let t = &h.tensor;
            if h.format.as_ref().is_none_or(|(q, _)| *q != f.quantization()) {
                h.format = Some((f.quantization(), formats::keep(&t.data, &t.shape, f)));
            }
            let kept = &h.format.as_ref().expect("set just above").1;
            let view = kept.as_ref().map(|k| formats::view(&t.data, &t.shape, &summary, k, f)).map_err(|e| e.clone());
            h.format_view = Some((f.clone(), view));
            return progress(later, Stage::Format);
        }
        Ok(SessionStep::Done(Box::new(Explored {
            name: h.tensor.name.clone(),
            shape: h.tensor.shape.clone(),
            view: h.view.as_ref().expect("computed above").1.clone(),
            channels: request.channels.and(h.channels.as_ref().map(|(_, c)| c.clone())),
            dynamics: request.dynamics.and(h.dynamics.as_ref().map(|(_, d)| d.clone())),
            format: request.format.as_ref().and(h.format_view.as_ref().map(|(_, f)| f.clone())),
        })))
    }

    /// Runs `request` to the end.
    pub fn run(&mut self, request: &ExploreRequest) -> Result<Explored, String> {
        loop {
            if let SessionStep::Done(e) = self.step(request)? {
                return Ok(*e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::explore::explore;
    use crate::engine::observer::{Granularity, ObserverKind};
    use crate::engine::synth::{Dist, Outliers};

    fn settings(observer: ObserverKind) -> Settings {
        crate::engine::views::explore::test_settings(observer)
    }

    fn request(n: usize, observer: ObserverKind) -> ExploreRequest {
        let spec = SynthSpec { dist: Dist::Laplace { loc: 0.0, b: 1.0 }, n, seed: 3, outliers: Some(Outliers { fraction: 0.01, magnitude: 30.0 }), channels: 4, spread: 10.0 };
        ExploreRequest {
            source: TensorSource::Synthetic(spec),
            settings: settings(observer),
            channels: Some(ChannelsRequest { axis: 0, scheme: QScheme::Affine, range: QRange::QUINT8 }),
            dynamics: Some(DynamicsRequest { split: dynamics::Split::Equal(10), averaging_constant: 0.1, drift: 2.0 }),
            format: None,
        }
    }

    #[test]
    fn a_session_gives_what_the_functions_give_step_by_step() {
        let n = DRAW_SLICE * 2 + 1000;
        let req = request(n, ObserverKind::Percentile { percentile: 99.0, tails: crate::engine::observer::Tails::Abs });
        let mut s = Session::default();
        let mut stages = Vec::new();
        let got = loop {
            match s.step(&req).unwrap() {
                SessionStep::Progress { done, total, stage } => {
                    assert!(done <= total, "{done} of {total}");
                    stages.push(stage);
                }
                SessionStep::Done(e) => break e,
            }
        };
        assert_eq!(stages.len(), 3 + 4, "three slices of drawing, then one step per part: {stages:?}");
        let TensorSource::Synthetic(spec) = req.source else { unreachable!() };
        let xs = spec.generate().unwrap();
        let shape = spec.shape().to_vec();
        assert_eq!(got.view, explore(&xs, &shape, &req.settings).map_err(|e| format!("Cannot quantize this tensor: {e}")));
        assert_eq!(got.channels, Some(channels(&xs, &shape, 0, QScheme::Affine, QRange::QUINT8).map_err(|e| e.to_string())));
        assert_eq!(got.dynamics, Some(dynamics::run(&xs, &shape, dynamics::Split::Equal(10), 0.1, 2.0)));
        assert_eq!(got.shape, shape);
        // Another observer on the same tensor: the view alone is computed again.
        let other = ExploreRequest { settings: settings(ObserverKind::MinMax), ..req.clone() };
        assert!(matches!(s.step(&other).unwrap(), SessionStep::Progress { stage: Stage::Quantizing, .. }));
        assert!(matches!(s.step(&other).unwrap(), SessionStep::Done(_)));
    }

    #[test]
    fn the_mse_search_runs_in_steps_and_gives_the_observers_view() {
        let mut data = crate::engine::synth::sample(Dist::Normal { mean: 0.5, std: 2.0 }, 300_000, 4, Some(Outliers { fraction: 0.001, magnitude: 25.0 })).unwrap();
        data[17] = f32::NAN;
        data[99] = f32::NEG_INFINITY;
        let shape = vec![3, 100_000];
        let mut s = Session::default();
        s.load(1, Rc::new(Tensor { name: "t".into(), shape: shape.clone(), data: data.clone(), stored_as: "f32".into() }));
        for settings in [settings(ObserverKind::Mse), Settings { scheme: QScheme::Symmetric, range: crate::engine::views::explore::RangeSpec { bits: 3, unsigned: false, narrow: true, reduce_range: false, custom: None }, ..settings(ObserverKind::Mse) }] {
            let req = ExploreRequest { source: TensorSource::Loaded { key: 1 }, settings, channels: None, dynamics: None, format: None };
            let (mut searching, mut last) = (0, 0);
            let got = loop {
                match s.step(&req).unwrap() {
                    SessionStep::Progress { done, total, stage } => {
                        assert!(last <= done && done <= total, "{last}, {done} of {total}");
                        last = done;
                        searching += usize::from(matches!(stage, Stage::Searching { .. }));
                    }
                    SessionStep::Done(e) => break e,
                }
            };
            assert!(searching >= 2, "the search took {searching} steps");
            assert_eq!(got.view, explore(&data, &shape, &settings).map_err(|e| format!("Cannot quantize this tensor: {e}")));
        }
    }

    #[test]
    fn the_estimate_counts_the_tensor_even_when_the_view_cannot_work() {
        let n = 10_000_000;
        let big = request(n, ObserverKind::MinMax);
        let narrow_unsigned = crate::engine::views::explore::RangeSpec { bits: 8, unsigned: true, narrow: true, reduce_range: false, custom: None };
        let bad = ExploreRequest { settings: Settings { range: narrow_unsigned, ..big.settings }, ..big.clone() };
        assert!(bad.settings.range.range().is_err());
        assert!(bad.estimated_ms(n) > 500.0, "10M values are drawn whatever the grid: {}", bad.estimated_ms(n));
        assert!(request(n, ObserverKind::Mse).estimated_ms(n) > big.estimated_ms(n));
        assert!(request(1000, ObserverKind::Mse).estimated_ms(1000) < 12.0, "a small tensor stays on the page");
    }

    #[test]
    fn a_format_is_one_more_step_and_a_block_change_reuses_its_quantization() {
        use crate::engine::formats::spec::Params;
        // Four rows of 1056 = 33 blocks of 32, not whole super-blocks of 256.
        let mut req = request(4 * 1056, ObserverKind::MinMax);
        let fmt = |name: &str, block| FormatRequest { name: name.into(), params: Params::default(), block, bins: 32 };
        req.format = Some(fmt("mxfp4", None));
        let mut s = Session::default();
        let mut stages = Vec::new();
        let got = loop {
            match s.step(&req).unwrap() {
                SessionStep::Progress { done, total, stage } => {
                    assert!(done <= total);
                    stages.push(stage);
                }
                SessionStep::Done(e) => break e,
            }
        };
        assert_eq!(stages.last(), Some(&Stage::Format));
        let t = s.tensor(&req.source).unwrap();
        let f = req.format.as_ref().unwrap();
        let expect = formats::view(&t.data, &t.shape, &summarize(&t.data), &formats::keep(&t.data, &t.shape, f).unwrap(), f);
        assert_eq!(got.format, Some(Ok(expect)));
        // Another block: one step, the same metrics; a format that does not fit says why.
        let other = ExploreRequest { format: Some(fmt("mxfp4", Some(0))), ..req.clone() };
        assert!(matches!(s.step(&other).unwrap(), SessionStep::Progress { stage: Stage::Format, .. }));
        let SessionStep::Done(e) = s.step(&other).unwrap() else { panic!("done after one step") };
        let v = e.format.unwrap().unwrap();
        assert_eq!((v.block, v.metrics), (0, got.format.unwrap().unwrap().metrics));
        let bad = ExploreRequest { format: Some(fmt("q4_k", None)), ..req.clone() };
        assert!(s.run(&bad).unwrap().format.unwrap().unwrap_err().contains("block of 256"));
        assert!(bad.estimated_ms(1_000_000) > req.estimated_ms(1_000_000));
    }

    #[test]
    fn a_newer_request_keeps_the_half_drawn_tensor() {
        let n = DRAW_SLICE * 3;
        let first = request(n, ObserverKind::MinMax);
        let mut s = Session::default();
        s.step(&first).unwrap();
        let second = ExploreRequest { settings: settings(ObserverKind::Mse), dynamics: None, ..first.clone() };
        match s.step(&second).unwrap() {
            SessionStep::Progress { stage: Stage::Drawing { drawn, .. }, .. } => assert_eq!(drawn, 2 * DRAW_SLICE, "drawing went on"),
            other => panic!("{other:?}"),
        }
        let done = s.run(&second).unwrap();
        assert!(done.dynamics.is_none(), "not asked for");
        let TensorSource::Synthetic(spec) = first.source else { unreachable!() };
        assert_eq!(s.tensor(&first.source).unwrap().data, spec.generate().unwrap());
    }

    #[test]
    fn bad_sources_and_settings_say_why() {
        let mut s = Session::default();
        let mut req = request(1000, ObserverKind::MinMax);
        req.source = TensorSource::Loaded { key: 7 };
        assert!(s.step(&req).unwrap_err().contains("never handed"));
        s.load(7, Rc::new(Tensor { name: "w".into(), shape: vec![2, 3], data: vec![1.0, -2.0, 0.5, f32::NAN, 4.0, 0.0], stored_as: "f32".into() }));
        assert!(s.has_loaded(7));
        let got = s.run(&req).unwrap();
        assert_eq!(got.name, "w");
        assert_eq!(got.view.as_ref().unwrap().metrics.non_finite, 1);
        let spec = SynthSpec { dist: Dist::Normal { mean: 0.0, std: -1.0 }, n: 10, seed: 0, outliers: None, channels: 1, spread: 1.0 };
        assert!(s.step(&ExploreRequest { source: TensorSource::Synthetic(spec), ..req.clone() }).is_err());
        let per_channel_mse = Settings { granularity: Granularity::PerChannel { axis: 0 }, ..settings(ObserverKind::Mse) };
        let got = s.run(&ExploreRequest { settings: per_channel_mse, ..req }).unwrap();
        assert!(got.view.unwrap_err().starts_with("Cannot quantize"));
    }
}
