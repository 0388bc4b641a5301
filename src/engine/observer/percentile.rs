//! The percentile observer: clips at the p-th percentile of |x|, or of each tail, over every
//! value seen (NumPy's default "linear" percentile).

use serde::{Deserialize, Serialize};

use super::{Common, Retained, ObserveError, Observer, Ranges, TraceStep};

/// Which values the percentile is taken of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tails {
    /// `a = percentile(|x|, p)`; the range is `[max(min, −a), min(max, a)]`.
    Abs,
    /// `[percentile(x, 100 − p), percentile(x, p)]`.
    Both,
}

/// `numpy.percentile(values, p)` with the default linear interpolation, reordering `values`
/// (`select_nth_unstable`, O(n)). `None` for no values.
pub fn percentile_of(values: &mut [f32], p: f64) -> Option<f32> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * (p / 100.0).clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let t = h - lo as f64;
    let (_, &mut a, rest) = values.select_nth_unstable_by(lo, f32::total_cmp);
    if t == 0.0 || rest.is_empty() {
        return Some(a);
    }
    let b = rest.iter().copied().fold(f32::INFINITY, f32::min);
    // NumPy's _lerp: a + t·(b − a), and b − (b − a)·(1 − t) when t >= 0.5.
    let (a64, b64) = (a as f64, b as f64);
    let v = if t >= 0.5 { b64 - (b64 - a64) * (1.0 - t) } else { a64 + (b64 - a64) * t };
    Some(v as f32)
}

/// Clips at a percentile of the values seen so far.
#[derive(Clone, Debug)]
pub struct Percentile {
    common: Common,
    percentile: f64,
    tails: Tails,
    /// Every finite value seen (|x| for `Tails::Abs`).
    seen: Retained,
    trace: Vec<TraceStep>,
    non_finite: usize,
}

impl Percentile {
    pub fn new(common: Common, percentile: f64, tails: Tails) -> Result<Percentile, ObserveError> {
        if !(percentile > 0.0 && percentile <= 100.0) {
            return Err(ObserveError::Param(format!("percentile {percentile} must be in (0, 100]")));
        }
        Ok(Percentile {
            common,
            percentile,
            tails,
            seen: Retained::new(),
            trace: Vec::new(),
            non_finite: 0,
        })
    }

    fn chosen(&self) -> Ranges {
        let mut scratch = self.seen.values.clone();
        let pick = |scratch: &mut [f32], p| percentile_of(scratch, p);
        let (lo, hi) = match self.tails {
            Tails::Abs => match pick(&mut scratch, self.percentile) {
                Some(a) => (self.seen.min.max(-a), self.seen.max.min(a)),
                None => (f32::INFINITY, f32::NEG_INFINITY),
            },
            Tails::Both => match (pick(&mut scratch, 100.0 - self.percentile), pick(&mut scratch, self.percentile)) {
                (Some(lo), Some(hi)) => (lo, hi),
                _ => (f32::INFINITY, f32::NEG_INFINITY),
            },
        };
        Ranges { min: vec![lo], max: vec![hi] }
    }
}

impl Observer for Percentile {
    fn name(&self) -> &'static str {
        "percentile"
    }
    super::bookkeeping!();

    fn observe(&mut self, data: &[f32], _shape: &[usize]) -> Result<(), ObserveError> {
        let abs = self.tails == Tails::Abs;
        let (lo, hi, bad) = self.seen.add(data, |x| if abs { x.abs() } else { x });
        self.non_finite += bad;
        self.trace.push(TraceStep { batch_min: lo, batch_max: hi, ranges: self.chosen() });
        Ok(())
    }

    fn ranges(&self) -> Ranges {
        super::latest(&self.trace)
    }

    fn reset(&mut self) {
        *self = Percentile::new(self.common, self.percentile, self.tails).expect("parameters were checked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{QRange, QScheme};

    // >>> np.percentile(np.array([1, 2, 3, 4], dtype=np.float32), 99.99)  -> 3.9997
    // >>> np.percentile(np.array([5, 1, 4, 2, 3], dtype=np.float32), [0, 25, 50, 62.5, 100])
    // array([1. , 2. , 3. , 3.5, 5. ])
    #[test]
    fn matches_numpy_linear_percentile() {
        assert_eq!(percentile_of(&mut [1.0, 2.0, 3.0, 4.0], 99.99), Some(3.9997f32));
        let p = |q| percentile_of(&mut [5.0, 1.0, 4.0, 2.0, 3.0], q).unwrap();
        assert_eq!([0.0, 25.0, 50.0, 62.5, 100.0].map(p), [1.0, 2.0, 3.0, 3.5, 5.0]);
        assert_eq!(percentile_of(&mut [], 50.0), None);
        assert_eq!(percentile_of(&mut [7.0], 99.0), Some(7.0));
    }

    #[test]
    fn abs_and_both_tails() {
        let common = Common { scheme: QScheme::Affine, range: QRange::QUINT8 };
        let data: Vec<f32> = (-100..=100).map(|i| i as f32).collect();
        let mut abs = Percentile::new(common, 90.0, Tails::Abs).unwrap();
        abs.observe(&data, &[201]).unwrap();
        // |x| takes 0..=100, twice each but 0 once: its 90th percentile is 90.
        assert_eq!(abs.ranges(), Ranges { min: vec![-90.0], max: vec![90.0] });
        let mut both = Percentile::new(common, 95.0, Tails::Both).unwrap();
        both.observe(&data, &[201]).unwrap();
        assert_eq!(both.ranges(), Ranges { min: vec![-90.0], max: vec![90.0] });
        // Non-negative data keeps its lower end.
        let mut pos = Percentile::new(common, 50.0, Tails::Abs).unwrap();
        pos.observe(&[1.0, 2.0, 3.0], &[3]).unwrap();
        assert_eq!(pos.ranges(), Ranges { min: vec![1.0], max: vec![2.0] });
        assert!(Percentile::new(common, 0.0, Tails::Abs).is_err());
        assert!(Percentile::new(common, 100.5, Tails::Abs).is_err());
        pos.reset();
        assert_eq!(pos.ranges(), Ranges::unobserved(1));
    }
}
